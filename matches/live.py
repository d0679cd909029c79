"""A match's live state for the wire: the state after each event, the snapshot, and the
rebuild of what Redis holds for a match channel (all derived from PostgreSQL).

matches/effects.py publishes through here after every change; reads that find Redis empty
rebuild through here (`live_snapshot_or_rebuild`, which writes, as its name says).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import REDIS_UNAVAILABLE
from matches import rules
from matches.centre import centre_snapshot
from matches.frames import (
    PERIOD_BASE,
    SNAPSHOT_EVENTS,
    MatchState,
    clock,
    event_frame,
    snapshot_data,
    snapshot_frame,
    timeline_item,
)
from matches.models import LIVE_STATUSES, EventKind, Match, MatchEvent
from realtime import publish
from realtime.frames import Frame

K = EventKind
# Possession is in the snapshot's `pos`, line-ups and statistics in its match centre; its
# event list keeps everything else a live watcher saw, period changes included, so a late
# joiner draws the same timeline.
_QUIET_KINDS = frozenset({K.POSSESSION, K.LINEUP, K.STATS})


def timeline(match: Match) -> list[MatchEvent]:
    return list(
        match.events.select_related("team", "player", "related_player", "supersedes").order_by(
            "seq"
        )
    )


def replay_states(
    match: Match, events: Sequence[MatchEvent], at: Sequence[int] | None = None
) -> list[MatchState]:
    """The match state right after each event (or only after the events at indices `at`),
    by the counting rules of matches/rules.py applied to the timeline up to that event.
    Each state costs a pass over its prefix: a snapshot asks for its last 20 only."""
    wanted = range(len(events)) if at is None else frozenset(at)
    status, minute, states = "scheduled", None, []
    pens_seen = False
    for n, event in enumerate(events, start=1):
        if event.status:
            status = event.status
        pens_seen = pens_seen or status == "penalties" or event.kind == K.SHOOTOUT_KICK
        if event.minute is not None and event.minute >= (minute or 0):
            minute = event.minute
        if n - 1 not in wanted:
            continue
        prefix = events[:n]
        states.append(
            MatchState(
                home=match.home.code,
                away=match.away.code,
                score=rules.score(match, prefix),
                pens=rules.shootout_score(match, prefix) if pens_seen else None,
                status=status,
                minute=minute,
            )
        )
    return states


def snapshot(match: Match, events: Sequence[MatchEvent]) -> Frame:
    """The snapshot frame of a match whose timeline is `events`."""
    recent = [i for i, e in enumerate(events) if e.kind not in _QUIET_KINDS][-SNAPSHOT_EVENTS:]
    started = _period_start(match, events)
    at = recent if started is None or started in recent else [started, *recent]
    states = dict(zip(at, replay_states(match, events, at=at), strict=True))
    running = clock(events[started], states[started]) if started is not None else None
    data = snapshot_data(
        match,
        [events[i] for i in recent],
        [states[i] for i in recent],
        running,
        centre_snapshot(match, events),
    )
    return snapshot_frame(match.slug, match.seq, data)


def _period_start(match: Match, events: Sequence[MatchEvent]) -> int | None:
    """The index of the event that started (or resumed) the period now running, if any."""
    if match.status not in PERIOD_BASE:
        return None
    for index in range(len(events) - 1, -1, -1):
        if events[index].status == match.status and events[index].kind not in _QUIET_KINDS:
            return index
    return None


def timeline_items(match: Match) -> list[dict[str, object]]:
    """The whole timeline in the wire's shape (what a live watcher collected from the
    snapshot and the deltas), for a client that joins late: GET .../timeline/."""
    events = [e for e in timeline(match) if e.kind not in _QUIET_KINDS]
    states = replay_states(match, events)
    return [timeline_item(match.slug, e, s) for e, s in zip(events, states, strict=True)]


def live_state(match: Match, events: Sequence[MatchEvent]) -> publish.LiveState:
    return publish.LiveState(
        slug=match.slug,
        seq=match.seq,
        snapshot=snapshot(match, events),
        live=match.is_live,
        kickoff=int(match.kickoff.timestamp()),
    )


def frames_for(match: Match, appended: Sequence[MatchEvent]) -> list[Frame]:
    """The frames of events just appended, each with the state after the whole change."""
    state = MatchState.of(match)
    return [event_frame(match.slug, event, state) for event in appended]


def match_rebuild(match: Match) -> Frame:
    """Recreate a match's snapshot and timeline in Redis from the database; returns the
    snapshot. Publishes nothing."""
    events = timeline(match)
    states = replay_states(match, events)
    frames = [event_frame(match.slug, e, s) for e, s in zip(events, states, strict=True)]
    state = live_state(match, events)
    publish.replace_state(state, frames)
    return state.snapshot


def live_snapshot_or_rebuild(slug: str) -> publish.Stored | None:
    """A match's snapshot (seq, text, watcher slot) for a read: from Redis; rebuilt there from the
    database when Redis lost it (a write); built from the database alone, storing nothing,
    while Redis is unreachable. None when there is no such match."""
    try:
        stored = publish.stored_snapshot(slug)
    except REDIS_UNAVAILABLE:
        return _from_database(slug, store=False)
    return stored or _from_database(slug, store=True)


def _from_database(slug: str, *, store: bool) -> publish.Stored | None:
    match = Match.objects.select_related("home", "away").filter(slug=slug).first()
    if match is None:
        return None
    frame = match_rebuild(match) if store else snapshot(match, timeline(match))
    return publish.Stored(match.seq, frame.text, frame.slot)


def live_state_rebuild(*, only_live: bool = False) -> int:
    """Recreate every match's snapshot and timeline in Redis; returns how many."""
    matches = Match.objects.select_related("home", "away")
    if only_live:
        matches = matches.filter(status__in=LIVE_STATUSES)
    count = 0
    for match in matches.iterator():
        match_rebuild(match)
        count += 1
    return count
