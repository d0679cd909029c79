"""Live state rebuilt from PostgreSQL, for the gateway and the management command."""

from __future__ import annotations

from channels.db import database_sync_to_async

from matches.models import LIVE_STATUSES, Match
from realtime import publish

match_snapshot_from_db = database_sync_to_async(publish.match_rebuild_by_slug)


def live_state_rebuild(*, only_live: bool = False) -> int:
    """Recreate every match's snapshot and timeline in Redis; returns how many."""
    matches = Match.objects.select_related("home", "away")
    if only_live:
        matches = matches.filter(status__in=LIVE_STATUSES)
    count = 0
    for match in matches.iterator():
        publish.match_rebuild(match)
        count += 1
    return count
