"""Every change to a match goes through the matches app's services; this module records
what happens on the pitch (goals, cards, substitutions, VAR, the shootout, possession,
line-ups and statistics),
and corrects it (a goal disallowed or given to another scorer); matches/commands.py routes
operators' and feeds' commands to the service that owns each.

Each service runs one short transaction that locks the match row (matches/changes.py),
validates the change against the match rules, appends timeline events with the next `seq`,
derives the score from the events that still count, and schedules side effects after
commit, so nothing is announced that did not commit. The fixture's lifecycle is
matches/schedule.py and the status machine matches/statuses.py; their services are part of
this module's surface (`__all__`), so callers have one place to import changes from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from matches import centre, rules
from matches.changes import (
    OPERATOR,
    MatchChange,
    MatchRuleError,
    Recorded,
    Source,
    apply_once,
    touch_minute,
)
from matches.models import (
    GOAL_KINDS,
    LIVE_STATUSES,
    VOID_STATUSES,
    EventKind,
    Match,
    MatchEvent,
    MatchStatus,
    Player,
    Team,
)
from matches.schedule import (
    match_check_new,
    match_copy,
    match_create,
    match_move_kickoff,
    match_reschedule,
    match_schedule_replay,
    match_slug,
)
from matches.statuses import TRANSITIONS, match_change_status, match_next_statuses

__all__ = [
    "OPERATOR",
    "TRANSITIONS",
    "MatchRuleError",
    "Recorded",
    "Source",
    "match_change_status",
    "match_check_new",
    "match_copy",
    "match_correct_goal",
    "match_create",
    "match_disallow_goal",
    "match_move_kickoff",
    "match_next_statuses",
    "match_record_event",
    "match_record_goal",
    "match_record_shootout_kick",
    "match_reschedule",
    "match_schedule_replay",
    "match_score_consistent",
    "match_set_lineup",
    "match_set_possession",
    "match_set_stats",
    "match_slug",
]

S = MatchStatus

# Minute ranges a timed event may carry in each playing period (stoppage time is separate),
# and the minutes that stoppage time is added to (45+2, 90+4, 105+1, 120+3).
PLAYING_MINUTES: dict[str, tuple[int, int]] = {
    S.FIRST_HALF: (0, 45),
    S.SECOND_HALF: (45, 90),
    S.EXTRA_TIME: (90, 120),
}
STOPPAGE_MINUTES: dict[str, frozenset[int]] = {
    S.FIRST_HALF: frozenset({45}),
    S.SECOND_HALF: frozenset({90}),
    S.EXTRA_TIME: frozenset({105, 120}),
}

# Kinds an operator or a feed may record directly; period kinds come from status changes.
IN_PLAY_KINDS = GOAL_KINDS | {EventKind.MISSED_PENALTY}
LIVE_KINDS = frozenset(
    {EventKind.YELLOW, EventKind.RED, EventKind.SUBSTITUTION, EventKind.VAR_REVIEW}
)


def _recount(change: MatchChange) -> None:
    """Derive score and shootout score from the events that still count (matches/rules.py),
    so the score can never disagree with the timeline (corrections included)."""
    match, timeline = change.match, change.timeline()
    match.home_score, match.away_score = rules.score(match, timeline)
    if match.home_pens is not None:
        match.home_pens, match.away_pens = rules.shootout_score(match, timeline)


def _period(status: str, minute: int | None) -> int:
    if status == S.FIRST_HALF:
        return 1
    if status == S.SECOND_HALF:
        return 2
    if status == S.EXTRA_TIME:
        return 3 if minute is None or minute <= 105 else 4
    if status == S.PENALTIES:
        return 5
    return 0


def _check_minute(status: str, minute: int | None, stoppage: int) -> None:
    if minute is None:
        raise MatchRuleError("a minute is required")
    low, high = PLAYING_MINUTES.get(status, (0, 120))
    if not low <= minute <= high:
        raise MatchRuleError(f"minute {minute} is outside {low}-{high} for {status}")
    if stoppage and minute not in STOPPAGE_MINUTES.get(status, frozenset()):
        raise MatchRuleError(f"stoppage time is not added to minute {minute} in {status}")
    if stoppage > 30:
        raise MatchRuleError("stoppage time above 30 minutes is not plausible")


def _check_side(match: Match, team: Team | None, player: Player | None, kind: str) -> None:
    if team is None or team.pk not in (match.home_id, match.away_id):
        raise MatchRuleError("the team must be one of the two teams of this match")
    if player is None:
        return
    # An own goal is credited to the other side, so its scorer plays for the opponent.
    expected = team.pk
    if kind == EventKind.OWN_GOAL:
        expected = match.away_id if team.pk == match.home_id else match.home_id
    if player.team_id != expected:
        raise MatchRuleError(f"{player.name} does not play for the expected team")


def _check_recordable(match: Match, kind: str, minute: int | None, stoppage: int) -> None:
    if kind in IN_PLAY_KINDS:
        if match.status not in PLAYING_MINUTES:
            raise MatchRuleError(f"a {kind} needs the ball in play, the match is {match.status}")
        _check_minute(match.status, minute, stoppage)
    elif kind in LIVE_KINDS:
        if match.status not in LIVE_STATUSES:
            raise MatchRuleError(f"a {kind} needs a live match, the match is {match.status}")
    else:
        raise MatchRuleError(f"{kind!r} cannot be recorded directly")


def match_record_event(
    *,
    match: Match,
    kind: str,
    team: Team | None = None,
    player: Player | None = None,
    related_player: Player | None = None,
    minute: int | None = None,
    stoppage: int = 0,
    detail: str = "",
    source: Source = OPERATOR,
) -> Recorded:
    """Record an in-play event (goal, card, substitution, missed penalty, VAR review).

    A provider event already applied (`source`) makes this a no-op that returns the earlier
    event: feeds re-send, and a re-sent goal must not count twice.
    """

    def apply(change: MatchChange) -> MatchEvent:
        m = change.match
        _check_recordable(m, kind, minute, stoppage)
        _check_side(m, team, player, kind)
        event = change.append(
            source,
            kind=kind,
            period=_period(m.status, minute),
            minute=minute,
            stoppage=stoppage,
            team=team,
            player=player,
            related_player=related_player,
            detail=detail,
        )
        touch_minute(m, minute)
        if kind in GOAL_KINDS:
            _recount(change)
        return event

    return apply_once(match, source, apply)


def match_record_goal(
    *,
    match: Match,
    team: Team,
    minute: int,
    stoppage: int = 0,
    player: Player | None = None,
    kind: str = EventKind.GOAL,
    source: Source = OPERATOR,
) -> Recorded:
    if kind not in GOAL_KINDS:
        raise MatchRuleError(f"{kind!r} is not a kind of goal")
    return match_record_event(
        match=match,
        kind=kind,
        team=team,
        player=player,
        minute=minute,
        stoppage=stoppage,
        source=source,
    )


# ---- corrections: a new event supersedes a goal ---------------------------------------------


@dataclass(frozen=True)
class _Correction:
    """What supersedes a goal: `kind` GOAL_DISALLOWED cancels it; a goal kind replaces it
    with this kind and scorer."""

    verb: str  # for refusals: "disallowed", "corrected"
    kind: str | None  # None: the goal's own kind
    player: Player | None = None
    detail: str = ""


def _supersede(match: Match, goal: MatchEvent, fix: _Correction, source: Source) -> Recorded:
    """Disallow or correct a goal: allowed while live and after full time (then the result
    changes, and settlement runs again for the new version)."""

    def apply(change: MatchChange) -> MatchEvent:
        m = change.match
        if m.status not in LIVE_STATUSES and m.status != S.FINISHED:
            raise MatchRuleError(f"goals cannot be {fix.verb} while the match is {m.status}")
        counted = _counted_goal(m, goal)
        kind = fix.kind or counted.kind
        player = counted.player if kind == EventKind.GOAL_DISALLOWED else fix.player
        if kind != EventKind.GOAL_DISALLOWED:
            if kind not in GOAL_KINDS:
                raise MatchRuleError(f"{kind!r} is not a kind of goal")
            _check_side(m, counted.team, player, kind)
        event = change.append(
            source,
            kind=kind,
            period=counted.period,
            minute=counted.minute,
            stoppage=counted.stoppage,
            team=counted.team,
            player=player,
            detail=fix.detail,
            supersedes=counted,
        )
        _recount(change)
        if m.status == S.FINISHED:
            m.result_version += 1  # the result fans predicted on changed
        return event

    return apply_once(match, source, apply)


def _counted_goal(match: Match, goal: MatchEvent) -> MatchEvent:
    goal = MatchEvent.objects.select_for_update().get(pk=goal.pk)
    if goal.match_id != match.pk or goal.kind not in GOAL_KINDS:
        raise MatchRuleError("that event is not a goal of this match")
    if MatchEvent.objects.filter(supersedes=goal).exists():
        raise MatchRuleError("that goal has already been corrected")
    return goal


def match_disallow_goal(
    *, match: Match, goal: MatchEvent, reason: str = "VAR review", source: Source = OPERATOR
) -> Recorded:
    """Cancel a goal (VAR). Allowed while live and after full time (a correction)."""
    fix = _Correction("disallowed", EventKind.GOAL_DISALLOWED, detail=reason[:200])
    return _supersede(match, goal, fix, source)


def match_correct_goal(
    *,
    match: Match,
    goal: MatchEvent,
    player: Player | None,
    kind: str | None = None,
    source: Source = OPERATOR,
) -> Recorded:
    """Change a goal's scorer (or kind, e.g. to own goal): a new goal event supersedes it."""
    fix = _Correction("corrected", kind, player=player, detail="correction")
    return _supersede(match, goal, fix, source)


# ---- the shootout and possession ---------------------------------------------------------------


def match_record_shootout_kick(
    *,
    match: Match,
    team: Team,
    scored: bool,
    player: Player | None = None,
    source: Source = OPERATOR,
) -> Recorded:
    def apply(change: MatchChange) -> MatchEvent:
        m = change.match
        if m.status != S.PENALTIES:
            raise MatchRuleError(f"shootout kicks need a shootout, the match is {m.status}")
        _check_side(m, team, player, EventKind.SHOOTOUT_KICK)
        event = change.append(
            source, kind=EventKind.SHOOTOUT_KICK, period=5, team=team, player=player, scored=scored
        )
        _recount(change)
        return event

    return apply_once(match, source, apply)


def match_set_possession(
    *, match: Match, home_possession: int, source: Source = OPERATOR
) -> Recorded:
    """Record the home team's ball possession (percent); after full time it is a correction
    of the result (possession predictions settle on it)."""
    if not 0 <= home_possession <= 100:
        raise MatchRuleError("possession is a percentage, 0 to 100")

    def apply(change: MatchChange) -> MatchEvent:
        m = change.match
        if m.status not in LIVE_STATUSES and m.status != S.FINISHED:
            raise MatchRuleError(f"no possession for a {m.status} match")
        event = change.append(source, kind=EventKind.POSSESSION, detail=str(home_possession))
        m.home_possession = home_possession
        if m.status == S.FINISHED:
            m.result_version += 1
        return event

    return apply_once(match, source, apply)


# ---- the match centre: line-ups and statistics (matches/centre.py) ----------------------------


def match_set_lineup(
    *,
    match: Match,
    team: Team,
    formation: str,
    starting: Sequence[dict[str, Any]],
    bench: Sequence[dict[str, Any]] = (),
    credit: str = "",
    source: Source = OPERATOR,
) -> Recorded:
    """Record a team's line-up (the whole of it: a later one replaces it). Players it names
    join the team's squad, as they do when the feed names them in an event."""
    data = _clean(
        centre.lineup_clean, formation=formation, starting=starting, bench=bench, credit=credit
    )

    def apply(change: MatchChange) -> MatchEvent:
        m = change.match
        if team.pk not in (m.home_id, m.away_id):
            raise MatchRuleError(f"{team.code} does not play in {m.slug}")
        if m.status in VOID_STATUSES:
            raise MatchRuleError(f"no line-up for a {m.status} match")
        for row in [*data["starting"], *data["bench"]]:
            Player.objects.get_or_create(team=team, name=row["name"][:120])
        return change.append(source, kind=EventKind.LINEUP, team=team, detail=formation, data=data)

    return apply_once(match, source, apply)


def match_set_stats(
    *,
    match: Match,
    period: int,
    home: dict[str, Any],
    away: dict[str, Any],
    minute: int | None = None,
    simulated: bool = False,
    source: Source = OPERATOR,
) -> Recorded:
    """Record a statistics update of a period that has started; the momentum strip is
    derived from the timeline at this point and kept with it (docs/protocol.md)."""
    data = _clean(
        centre.stats_clean, period=period, home=home, away=away, minute=minute, simulated=simulated
    )

    def apply(change: MatchChange) -> MatchEvent:
        m = change.match
        reached = _period_reached(change.timeline())
        if period > reached:
            raise MatchRuleError(
                f"no statistics for period {period}: the match has not reached it"
                if reached
                else f"no statistics before kick-off (the match is {m.status})"
            )
        data["momentum"] = centre.momentum([*change.timeline(), _pending(m, data)], m.home_id)
        # The minute says when the figures were taken; it does not move the match clock.
        return change.append(source, kind=EventKind.STATS, period=period, minute=minute, data=data)

    return apply_once(match, source, apply)


def _pending(match: Match, data: dict[str, Any]) -> MatchEvent:
    """The update about to be appended, for the momentum computed with it."""
    period, minute = data["period"], data.get("minute")
    return MatchEvent(match=match, kind=EventKind.STATS, period=period, minute=minute, data=data)


def _period_reached(events: Iterable[MatchEvent]) -> int:
    reached = 0
    started = {status: n for n, status in centre.PERIODS.items()}
    for event in events:
        reached = max(reached, started.get(event.status, 0))
        if event.status in ("penalties", "finished"):
            reached = max(reached, 2)
    return reached


def _clean(clean: Callable[..., dict[str, Any]], **payload: Any) -> dict[str, Any]:
    try:
        return clean(**payload)
    except centre.CentreError as exc:
        raise MatchRuleError(str(exc)) from None


def match_score_consistent(match: Match) -> bool:
    """True when the stored score equals the one derived from the timeline (used by checks)."""
    timeline = list(match.events.order_by("seq"))
    return rules.score(match, timeline) == (match.home_score, match.away_score)
