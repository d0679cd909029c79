"""The frames of a match channel: what each event looks like on the wire, and the snapshot.

Shapes and encoding are the wire's (realtime/frames.py, docs/protocol.md); this module maps
match events onto them. A goal frame stays within 120 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from matches import centre
from matches.models import GOAL_KINDS, EventKind, Match, MatchEvent
from realtime.channels import SCHEDULE_CHANNEL, match_channel
from realtime.frames import Frame, FrameType, compact

MAX_GOAL_FRAME_BYTES = 120
SNAPSHOT_EVENTS = 20  # key events carried in a snapshot so a client can draw the match

K = EventKind
FRAME_TYPE: dict[str, FrameType] = {
    K.GOAL: "goal",
    K.OWN_GOAL: "goal",
    K.PENALTY_GOAL: "goal",
    K.YELLOW: "card",
    K.RED: "card",
    K.SUBSTITUTION: "sub",
    K.MISSED_PENALTY: "miss",
    K.VAR_REVIEW: "var",
    K.GOAL_DISALLOWED: "disallow",
    K.SHOOTOUT_KICK: "pen",
    K.KICKOFF: "status",
    K.PERIOD_START: "status",
    K.PERIOD_END: "status",
    K.FULL_TIME: "status",
    K.STATUS: "status",
    K.KICKOFF_TIME: "status",
    K.REPLAY_SCHEDULED: "status",
    K.POSSESSION: "stat",
    K.LINEUP: "lineup",
    K.STATS: "stats",
}
GOAL_FLAG: dict[str, str] = {K.OWN_GOAL: "og", K.PENALTY_GOAL: "pen"}
# The clock of a running period: the minute it counts on from (45 at the second half's
# kick-off) and when it started; a client runs the clock itself from these (docs/protocol.md,
# "The match clock"). Extra time is one period on the wire (91-120).
PERIOD_BASE = {"first_half": 0, "second_half": 45, "extra_time": 90}
_CLOCK_KINDS = frozenset({K.KICKOFF, K.PERIOD_START, K.STATUS})


@dataclass(frozen=True)
class MatchState:
    """The score a frame reports: the match's state right after the event."""

    home: str
    away: str
    score: tuple[int, int]
    pens: tuple[int, int] | None
    status: str
    minute: int | None

    @classmethod
    def of(cls, match: Match) -> MatchState:
        pens = None if match.home_pens is None else (match.home_pens, match.away_pens or 0)
        return cls(
            home=match.home.code,
            away=match.away.code,
            score=(match.home_score, match.away_score),
            pens=pens,
            status=match.status,
            minute=match.minute,
        )


def frame_type(event: MatchEvent) -> FrameType:
    if event.kind in GOAL_KINDS and event.supersedes_id:
        return "correct"
    return FRAME_TYPE[event.kind]


def event_data(event: MatchEvent, state: MatchState) -> dict[str, Any]:
    """The `d` of a delta frame, with the score as it stands after the event."""
    data: dict[str, Any] = {
        "tm": event.team.code if event.team else None,
        "p": event.player.name if event.player else None,
        "m": event.minute,
        "x": event.stoppage or None,
    }
    kind = event.kind
    if kind in GOAL_KINDS:
        data.update(s=list(state.score), k=GOAL_FLAG.get(kind))
        if event.supersedes:
            data["ref"] = event.supersedes.seq
    elif kind in (K.YELLOW, K.RED):
        data["c"] = "y" if kind == K.YELLOW else "r"
    elif kind == K.SUBSTITUTION:
        data["po"] = event.related_player.name if event.related_player else None
    elif kind in (K.VAR_REVIEW, K.GOAL_DISALLOWED):
        data.update(r=event.detail[:60] or None)
        if kind == K.GOAL_DISALLOWED and event.supersedes:  # a disallow always names its goal
            data.update(ref=event.supersedes.seq, s=list(state.score))
    elif kind == K.POSSESSION:
        data = {"pos": int(event.detail or 0)}
    elif kind == K.LINEUP:
        data = centre.lineup_wire(event)
    elif kind == K.STATS:
        data = centre.stats_wire(event)
    elif kind == K.SHOOTOUT_KICK:
        data.update(ok=int(bool(event.scored)), ps=list(state.pens) if state.pens else None)
    elif kind == K.KICKOFF_TIME:  # detail: "<new kick-off, ISO> <reason>"
        kickoff, _, reason = event.detail.partition(" ")
        data = {"st": event.status, "ko": kickoff, "r": reason[:60] or None}
    elif kind == K.REPLAY_SCHEDULED:
        data = {"st": event.status, "rp": event.detail, "s": list(state.score)}
    else:  # kick-off, periods, full time, other status changes
        data = {
            "st": event.status,
            "m": event.minute,
            "s": list(state.score),
            **clock(event, state),
        }
    return compact(data)


def clock(event: MatchEvent, state: MatchState) -> dict[str, int]:
    """`pa` (unix seconds) and `pm` of an event that starts or resumes a running period, else
    nothing. A resumed match counts on from the minute it was suspended at."""
    base = PERIOD_BASE.get(event.status)
    if base is None or event.kind not in _CLOCK_KINDS:
        return {}
    if event.kind == K.STATUS:  # resumed after a suspension
        base = max(base, state.minute or 0)
    return {"pa": int(event.created_at.timestamp()), "pm": base}


def _short_name(name: str) -> str:
    parts = name.split()
    return f"{parts[0][0]}. {' '.join(parts[1:])}" if len(parts) > 1 else name


def event_frame(slug: str, event: MatchEvent, state: MatchState) -> Frame:
    channel, data = match_channel(slug), event_data(event, state)
    frame = Frame(channel, frame_type(event), data, seq=event.seq)
    # Long names would push a goal frame past its budget: shorten, then cut.
    while len(frame.text.encode()) > MAX_GOAL_FRAME_BYTES and data.get("p"):
        shorter = _short_name(data["p"])
        data["p"] = shorter if shorter != data["p"] else data["p"][:-1]
        frame = Frame(channel, frame_type(event), data, seq=event.seq)
    return frame


def timeline_item(slug: str, event: MatchEvent, state: MatchState) -> dict[str, Any]:
    """One entry of a snapshot's `ev` (and of the REST timeline in the wire's shape): the
    event exactly as its delta frame carried it (a long name shortened alike), with its `t`
    and `seq`, so a late joiner draws what a live watcher drew."""
    frame = event_frame(slug, event, state)
    return {"t": frame.t, "seq": event.seq, **(frame.d or {})}


def snapshot_data(
    match: Match,
    recent: list[MatchEvent],
    states: list[MatchState],
    running: dict[str, int] | None = None,
    centre_data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `d` of a snapshot frame: the whole visible state of the match, compact, with the
    clock of the running period (`pa`, `pm`) while the ball is in play and the match
    centre (`lu`, `sx`, `mo`: matches/centre.py) once reported."""
    state = MatchState.of(match)
    events = [timeline_item(match.slug, e, s) for e, s in zip(recent, states, strict=True)]
    return compact(
        {
            "h": state.home,
            "a": state.away,
            "s": list(state.score),
            "ps": list(state.pens) if state.pens else None,
            "st": state.status,
            "m": state.minute,
            "pos": match.home_possession,
            "ko": match.kickoff.strftime("%Y-%m-%dT%H:%MZ"),
            "ev": events or None,
            **(running or {}),
            **(centre_data or {}),
        }
    )


def snapshot_frame(slug: str, seq: int, data: dict[str, Any]) -> Frame:
    return Frame(match_channel(slug), "snap", data, seq=seq)


def schedule_frame(match: Match) -> Frame:
    """`status` on the schedule channel: a match's new status, score and kick-off."""
    state = MatchState.of(match)
    data = {
        "m": match.slug,
        "st": state.status,
        "s": list(state.score),
        "ps": list(state.pens) if state.pens else None,
        "ko": match.kickoff.strftime("%Y-%m-%dT%H:%MZ"),
    }
    return Frame(SCHEDULE_CHANNEL, "status", compact(data))


def bracket_frame(competition: str) -> Frame:
    """`bracket` on the schedule channel: a knockout side of `competition` was decided."""
    return Frame(SCHEDULE_CHANNEL, "bracket", {"c": competition})
