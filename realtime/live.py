"""Live state read paths that fall back to PostgreSQL."""

from __future__ import annotations

from channels.db import database_sync_to_async

from matches.models import Match
from realtime import publish


@database_sync_to_async
def match_snapshot_from_db(slug: str) -> tuple[int, str] | None:
    """Rebuild a match's live state from the database (Redis flushed, or never published);
    None when there is no such match."""
    match = Match.objects.select_related("home", "away").filter(slug=slug).first()
    if match is None:
        return None
    return match.seq, publish.match_rebuild(match)


def live_state_rebuild(*, only_live: bool = False) -> int:
    """Recreate every match's snapshot and timeline in Redis; returns how many."""
    matches = Match.objects.select_related("home", "away")
    if only_live:
        from matches.models import LIVE_STATUSES

        matches = matches.filter(status__in=LIVE_STATUSES)
    count = 0
    for match in matches.iterator():
        publish.match_rebuild(match)
        count += 1
    return count
