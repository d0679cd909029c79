"""The status machine of a match: kick-off, half time, second half, extra time, the
shootout, full time, and the ways out (postponed, suspended, abandoned, cancelled)."""

from __future__ import annotations

from django.utils import timezone

from matches.changes import (
    OPERATOR,
    MatchChange,
    MatchRuleError,
    Recorded,
    Source,
    apply_once,
    touch_minute,
)
from matches.models import EventKind, Match, MatchEvent, MatchStatus, Stage

S = MatchStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.SCHEDULED: frozenset({S.FIRST_HALF, S.POSTPONED, S.CANCELLED}),
    S.POSTPONED: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.FIRST_HALF: frozenset({S.HALF_TIME, S.SUSPENDED, S.ABANDONED}),
    S.HALF_TIME: frozenset({S.SECOND_HALF, S.SUSPENDED, S.ABANDONED}),
    S.SECOND_HALF: frozenset({S.EXTRA_TIME, S.PENALTIES, S.FINISHED, S.SUSPENDED, S.ABANDONED}),
    S.EXTRA_TIME: frozenset({S.PENALTIES, S.FINISHED, S.SUSPENDED, S.ABANDONED}),
    S.PENALTIES: frozenset({S.FINISHED, S.SUSPENDED, S.ABANDONED}),
    # A suspended match resumes in the status it was suspended in (see _resumes_to).
    S.SUSPENDED: frozenset({S.ABANDONED}),
}


def match_change_status(
    *, match: Match, status: str, minute: int | None = None, source: Source = OPERATOR
) -> Recorded:
    """Move a match along its lifecycle (kick-off, half time, ..., full time, postponed, ...).

    Full time increases `result_version`, which later triggers prediction settlement.
    """

    def apply(change: MatchChange) -> MatchEvent:
        m = change.match
        _check_transition(m, status)
        fields = _transition_event(m, status, minute)
        resumed = m.status == S.SUSPENDED and status != S.ABANDONED
        event = change.append(source, **fields)
        if resumed:
            m.status = status
            touch_minute(m, minute)
        else:
            _enter_status(m, status, minute)
        return event

    return apply_once(match, source, apply)


def match_next_statuses(match: Match) -> list[str]:
    """The statuses an operator may move this match to now (for buttons and menus)."""
    candidates = _allowed(match)
    return [value for value, _ in S.choices if value in candidates]


def _resumes_to(match: Match) -> str | None:
    """The status a suspended match was suspended in (the last one before it)."""
    statuses = match.events.exclude(status="").order_by("-seq").values_list("status", flat=True)
    earlier = [s for s in statuses[:2] if s != S.SUSPENDED]
    return earlier[0] if earlier else None


def _allowed(match: Match) -> frozenset[str]:
    allowed = TRANSITIONS.get(match.status, frozenset())
    if match.status == S.SUSPENDED and (resume := _resumes_to(match)):
        allowed = allowed | {resume}
    return allowed


def _check_transition(match: Match, status: str) -> None:
    if status not in _allowed(match):
        if match.status == S.SUSPENDED:
            raise MatchRuleError(
                f"a suspended match resumes as {_resumes_to(match)} or is abandoned"
            )
        raise MatchRuleError(f"a {match.status} match cannot move to {status}")
    if match.status == S.SUSPENDED:
        return  # resuming: the checks below were passed when it first got there
    level = match.home_score == match.away_score
    knockout = match.stage.kind == Stage.Kind.KNOCKOUT
    if status in (S.EXTRA_TIME, S.PENALTIES) and not (knockout and level):
        raise MatchRuleError(f"{status} needs a knockout match with the score level")
    if status == S.FINISHED and match.status == S.PENALTIES and match.home_pens == match.away_pens:
        raise MatchRuleError("the shootout is level: record more kicks before ending")
    if status == S.FINISHED and match.status != S.PENALTIES and knockout and level:
        raise MatchRuleError("a knockout match cannot end level: go to extra time or penalties")


_PERIODS: dict[str, int] = {
    S.FIRST_HALF: 1,
    S.HALF_TIME: 1,
    S.SECOND_HALF: 2,
    S.EXTRA_TIME: 3,
    S.PENALTIES: 5,
}
_ENTERED: dict[str, str] = {
    S.FIRST_HALF: EventKind.KICKOFF,
    S.HALF_TIME: EventKind.PERIOD_END,
    S.SECOND_HALF: EventKind.PERIOD_START,
    S.EXTRA_TIME: EventKind.PERIOD_START,
    S.PENALTIES: EventKind.PERIOD_START,
    S.FINISHED: EventKind.FULL_TIME,
}


def _transition_event(match: Match, status: str, minute: int | None) -> dict[str, object]:
    # Resuming a suspended match is not a new kick-off or period.
    resumed = match.status == S.SUSPENDED
    kind = EventKind.STATUS if resumed else _ENTERED.get(status, EventKind.STATUS)
    return {"kind": kind, "status": status, "minute": minute, "period": _PERIODS.get(status, 0)}


def _enter_status(match: Match, status: str, minute: int | None) -> None:
    match.status = status
    touch_minute(match, minute)
    if status == S.FIRST_HALF:
        match.started_at = timezone.now()
        match.minute = minute or 0
    elif status == S.PENALTIES:
        match.home_pens = match.away_pens = 0
    elif status in (S.FINISHED, S.ABANDONED, S.CANCELLED):
        # A new result to settle against (abandoned and cancelled ones void predictions).
        match.result_version += 1
    elif status == S.SCHEDULED:
        match.minute = None
