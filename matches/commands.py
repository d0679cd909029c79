"""One entry point for a change requested by an operator tool or a provider feed: an
`EventCommand`, its references resolved, is routed to the service that owns its kind."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from matches.changes import OPERATOR, MatchRuleError, Recorded, Source
from matches.models import EventKind, Match, MatchEvent, Player, Team
from matches.services import (
    IN_PLAY_KINDS,
    LIVE_KINDS,
    match_change_status,
    match_correct_goal,
    match_disallow_goal,
    match_record_event,
    match_record_shootout_kick,
    match_set_lineup,
    match_set_possession,
    match_set_stats,
)

COMMAND_KINDS = [
    *sorted(IN_PLAY_KINDS | LIVE_KINDS),
    EventKind.GOAL_DISALLOWED,
    EventKind.SHOOTOUT_KICK,
    EventKind.POSSESSION,
    EventKind.LINEUP,
    EventKind.STATS,
    "goal_corrected",
    "status",
]


@dataclass(frozen=True)
class EventCommand:
    """One change requested by an operator tool or a provider feed, references resolved.

    `kind` is a directly recordable event kind, `goal_disallowed` or `goal_corrected` (with
    `target`), `shootout_kick` (with `scored`), `status` (with `status`), or a match
    centre kind: `lineup` (with `team`, `data` formation, starting, bench) or `stats`
    (`data` period, home, away, simulated; with `minute`).
    """

    kind: str
    team: Team | None = None
    player: Player | None = None
    related_player: Player | None = None
    minute: int | None = None
    stoppage: int = 0
    scored: bool | None = None
    status: str | None = None
    target: MatchEvent | None = None
    detail: str = ""
    value: int | None = None  # possession percent
    data: dict[str, Any] = field(default_factory=dict)  # a line-up or statistics update
    source: Source = OPERATOR


def match_apply(*, match: Match, command: EventCommand) -> Recorded:
    """Route a command to the service that owns it (one entry point for API and feed)."""
    c = command
    source = c.source
    if c.kind == "status":
        if not c.status:
            raise MatchRuleError("a status change needs a status")
        return match_change_status(match=match, status=c.status, minute=c.minute, source=source)
    if c.kind in (EventKind.GOAL_DISALLOWED, "goal_corrected"):
        if c.target is None:
            raise MatchRuleError(f"{c.kind} needs the goal it corrects")
        if c.kind == EventKind.GOAL_DISALLOWED:
            return match_disallow_goal(
                match=match, goal=c.target, reason=c.detail or "VAR", source=source
            )
        return match_correct_goal(match=match, goal=c.target, player=c.player, source=source)
    if c.kind == EventKind.POSSESSION:
        if c.value is None:
            raise MatchRuleError("possession needs a value (percent)")
        return match_set_possession(match=match, home_possession=c.value, source=source)
    if c.kind in (EventKind.LINEUP, EventKind.STATS):
        return _centre(match, c)
    if c.kind == EventKind.SHOOTOUT_KICK:
        if c.team is None or c.scored is None:
            raise MatchRuleError("a shootout kick needs a team and whether it was scored")
        return match_record_shootout_kick(
            match=match, team=c.team, scored=c.scored, player=c.player, source=source
        )
    return match_record_event(
        match=match,
        kind=c.kind,
        team=c.team,
        player=c.player,
        related_player=c.related_player,
        minute=c.minute,
        stoppage=c.stoppage,
        detail=c.detail,
        source=source,
    )


def _centre(match: Match, c: EventCommand) -> Recorded:
    d = c.data
    if c.kind == EventKind.LINEUP:
        if c.team is None:
            raise MatchRuleError("a line-up needs its team")
        return match_set_lineup(
            match=match,
            team=c.team,
            formation=str(d.get("formation", "")),
            starting=d.get("starting") or [],
            bench=d.get("bench") or [],
            credit=str(d.get("credit") or ""),
            source=c.source,
        )
    return match_set_stats(
        match=match,
        period=int(d.get("period") or 0),
        home=d.get("home") or {},
        away=d.get("away") or {},
        minute=c.minute,
        simulated=bool(d.get("simulated")),
        source=c.source,
    )
