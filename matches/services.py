"""Every change to a match goes through this module.

Each service runs one short transaction that locks the match row (`SELECT ... FOR UPDATE`),
validates the change against the match rules, appends timeline events with the next `seq`,
derives the score from the events that still count, and schedules side effects with
`transaction.on_commit` so that nothing is announced that did not commit. The admin
console, the REST API, the provider feed and the World Cup loader all call these functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from matches import effects, rules
from matches.models import (
    GOAL_KINDS,
    LIVE_STATUSES,
    Competition,
    EventKind,
    Match,
    MatchEvent,
    MatchStatus,
    Player,
    Stage,
    Team,
)

S = MatchStatus
Change = Callable[[Match], MatchEvent]  # a service's change to a locked match


class MatchRuleError(DomainError):
    """A requested change breaks a match rule. The message is safe to show to an operator."""

    code = "match_rule"


@dataclass(frozen=True)
class Recorded:
    event: MatchEvent
    created: bool  # False when the provider event id had been applied before


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


def match_slug(*, home: Team, away: Team, date: dt.date) -> str:
    return f"{home.code}-vs-{away.code}-{date.isoformat()}".lower()


def match_create(
    *,
    competition: Competition,
    stage: Stage,
    home: Team,
    away: Team,
    kickoff: dt.datetime,
    local_date: dt.date | None = None,
    venue: str = "",
    group: str = "",
    slug: str | None = None,
) -> Match:
    """Create a scheduled match; the slug uses the local date when given (as fans know it),
    unless one is given (a second replay of the same day)."""
    slug = match_check_new(home=home, away=away, kickoff=kickoff, local_date=local_date, slug=slug)
    match = Match.objects.create(
        competition=competition,
        stage=stage,
        home=home,
        away=away,
        kickoff=kickoff,
        venue=venue,
        group=group,
        slug=slug,
    )
    effects.match_created(match)
    return match


def match_check_new(
    *,
    home: Team,
    away: Team,
    kickoff: dt.datetime,
    local_date: dt.date | None = None,
    slug: str | None = None,
) -> str:
    """The rules for a new match (admin forms check them before saving); returns its slug."""
    if home.pk == away.pk:
        raise MatchRuleError("a match needs two different teams")
    slug = slug or match_slug(home=home, away=away, date=local_date or kickoff.date())
    if Match.objects.filter(slug=slug).exists():
        raise MatchRuleError(f"match {slug} already exists")
    return slug


def match_reschedule(*, match: Match, kickoff: dt.datetime, venue: str, group: str) -> None:
    """Change when and where a match is played (its slug, the fans' link, stays). A new
    kick-off goes through `match_move_kickoff`'s rules and is announced."""
    with _locked(match) as m:
        if kickoff != m.kickoff:
            _move_kickoff(m, kickoff, "")
        m.venue, m.group = venue, group
        m.save()


def match_move_kickoff(*, match: Match, kickoff: dt.datetime, reason: str = "") -> MatchEvent:
    """A delayed kick-off or a postponed match's new date. Predictions lock at the new
    kick-off (they stay open while a match is postponed); a postponed match given a date is
    scheduled again. Refused once the match has kicked off."""
    with _locked(match) as m:
        event = _move_kickoff(m, kickoff, reason)
        m.save()
    return event


def _move_kickoff(match: Match, kickoff: dt.datetime, reason: str) -> MatchEvent:
    if match.status not in (S.SCHEDULED, S.POSTPONED):
        raise MatchRuleError(f"a {match.status} match's kick-off cannot move")
    if kickoff.tzinfo is None:
        raise MatchRuleError("the kick-off needs a time zone")
    match.kickoff, match.status = kickoff, S.SCHEDULED
    when = kickoff.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
    detail = f"{when} {reason.strip()}".strip()[:200]
    return _append(match, kind=EventKind.KICKOFF_TIME, status=S.SCHEDULED, detail=detail)


def match_schedule_replay(*, match: Match, kickoff: dt.datetime) -> Match:
    """An abandoned or cancelled match is played again: a new match between the same teams
    in the same stage (new predictions; the old ones stay void), announced on the old
    match's channel."""
    with _locked(match) as m:
        if m.status not in (S.ABANDONED, S.CANCELLED):
            raise MatchRuleError("only an abandoned or cancelled match is replayed")
        if Match.objects.filter(replay_of=m).exists():
            raise MatchRuleError(f"{m.slug} already has a replay")
        replay = match_create(
            competition=m.competition,
            stage=m.stage,
            home=m.home,
            away=m.away,
            kickoff=kickoff,
            venue=m.venue,
            group=m.group,
            slug=_replay_slug(m, kickoff),
        )
        Match.objects.filter(pk=replay.pk).update(replay_of=m)
        _append(m, kind=EventKind.REPLAY_SCHEDULED, status=m.status, detail=replay.slug)
        m.save()
    replay.refresh_from_db()
    return replay


def _replay_slug(match: Match, kickoff: dt.datetime) -> str:
    slug = match_slug(home=match.home, away=match.away, date=kickoff.date())
    taken = set(Match.objects.filter(slug__startswith=slug).values_list("slug", flat=True))
    for n in range(1, 100):
        candidate = slug if n == 1 else f"{slug}-{n}"
        if candidate not in taken:
            return candidate
    raise MatchRuleError("too many matches between these teams on that day")


@contextmanager
def _locked(match: Match) -> Iterator[Match]:
    """Lock the match row for one atomic change; refreshes `match` in place afterwards."""
    with transaction.atomic():
        locked = (
            Match.objects.select_for_update(of=("self",))
            .select_related("stage", "home", "away")
            .get(pk=match.pk)
        )
        locked.appended = []  # type: ignore[attr-defined]
        version = locked.result_version
        yield locked
        if locked.appended:  # type: ignore[attr-defined]
            # Announced with the state after the whole change, once it has committed.
            effects.match_changed(locked, locked.appended)  # type: ignore[attr-defined]
        if locked.result_version != version:
            effects.result_changed(locked)
    match.refresh_from_db()


def _apply_once(
    match: Match, provider: str, provider_event_id: str | None, change: Change
) -> Recorded:
    """The opening every recording service shares: lock the match; a provider event applied
    before is answered with the earlier event (feeds re-send, and a re-sent goal must not
    count twice); otherwise `change` validates, appends its event and updates the locked
    match, which is then saved."""
    with _locked(match) as m:
        if earlier := _duplicate(provider, provider_event_id):
            return Recorded(earlier, created=False)
        event = change(m)
        m.save()
    return Recorded(event, created=True)


def _duplicate(provider: str, provider_event_id: str | None) -> MatchEvent | None:
    if provider_event_id is None:
        return None
    return MatchEvent.objects.filter(provider=provider, provider_event_id=provider_event_id).first()


def _append(match: Match, **fields: object) -> MatchEvent:
    """Append one event with the next seq. Caller holds the match row lock."""
    match.seq += 1
    event = MatchEvent.objects.create(match=match, seq=match.seq, **fields)
    match.appended.append(event)  # type: ignore[attr-defined]
    return event


def _recount(match: Match) -> None:
    """Derive score and shootout score from the events that still count (matches/rules.py),
    so the score can never disagree with the timeline (corrections included)."""
    timeline = list(match.events.order_by("seq"))
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


def _touch_minute(match: Match, minute: int | None) -> None:
    if minute is not None and minute >= (match.minute or 0):
        match.minute = minute


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
    provider: str = "",
    provider_event_id: str | None = None,
) -> Recorded:
    """Record an in-play event (goal, card, substitution, missed penalty, VAR review).

    A `provider_event_id` already applied for `provider` makes this a no-op that returns the
    earlier event: feeds re-send, and a re-sent goal must not count twice.
    """

    def change(m: Match) -> MatchEvent:
        if kind in IN_PLAY_KINDS:
            if m.status not in PLAYING_MINUTES:
                raise MatchRuleError(f"a {kind} needs the ball in play, the match is {m.status}")
            _check_minute(m.status, minute, stoppage)
        elif kind in LIVE_KINDS:
            if m.status not in LIVE_STATUSES:
                raise MatchRuleError(f"a {kind} needs a live match, the match is {m.status}")
        else:
            raise MatchRuleError(f"{kind!r} cannot be recorded directly")
        _check_side(m, team, player, kind)
        event = _append(
            m,
            kind=kind,
            period=_period(m.status, minute),
            minute=minute,
            stoppage=stoppage,
            team=team,
            player=player,
            related_player=related_player,
            detail=detail,
            provider=provider,
            provider_event_id=provider_event_id,
        )
        _touch_minute(m, minute)
        if kind in GOAL_KINDS:
            _recount(m)
        return event

    return _apply_once(match, provider, provider_event_id, change)


def match_record_goal(
    *,
    match: Match,
    team: Team,
    minute: int,
    stoppage: int = 0,
    player: Player | None = None,
    kind: str = EventKind.GOAL,
    provider: str = "",
    provider_event_id: str | None = None,
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
        provider=provider,
        provider_event_id=provider_event_id,
    )


def _counted_goal(match: Match, goal: MatchEvent) -> MatchEvent:
    goal = MatchEvent.objects.select_for_update().get(pk=goal.pk)
    if goal.match_id != match.pk or goal.kind not in GOAL_KINDS:
        raise MatchRuleError("that event is not a goal of this match")
    if MatchEvent.objects.filter(supersedes=goal).exists():
        raise MatchRuleError("that goal has already been corrected")
    return goal


def _after_correction(match: Match) -> None:
    _recount(match)
    if match.status == S.FINISHED:
        # The result fans predicted on changed: settlement runs again for this version.
        match.result_version += 1


def match_disallow_goal(
    *,
    match: Match,
    goal: MatchEvent,
    reason: str = "VAR review",
    provider: str = "",
    provider_event_id: str | None = None,
) -> Recorded:
    """Cancel a goal (VAR). Allowed while live and after full time (a correction)."""

    def change(m: Match) -> MatchEvent:
        if m.status not in LIVE_STATUSES and m.status != S.FINISHED:
            raise MatchRuleError(f"goals cannot be disallowed while the match is {m.status}")
        counted = _counted_goal(m, goal)
        event = _append(
            m,
            kind=EventKind.GOAL_DISALLOWED,
            period=counted.period,
            minute=counted.minute,
            stoppage=counted.stoppage,
            team=counted.team,
            player=counted.player,
            detail=reason[:200],
            supersedes=counted,
            provider=provider,
            provider_event_id=provider_event_id,
        )
        _after_correction(m)
        return event

    return _apply_once(match, provider, provider_event_id, change)


def match_correct_goal(
    *,
    match: Match,
    goal: MatchEvent,
    player: Player | None,
    kind: str | None = None,
    provider: str = "",
    provider_event_id: str | None = None,
) -> Recorded:
    """Change a goal's scorer (or kind, e.g. to own goal): a new goal event supersedes it."""

    def change(m: Match) -> MatchEvent:
        if m.status not in LIVE_STATUSES and m.status != S.FINISHED:
            raise MatchRuleError(f"goals cannot be corrected while the match is {m.status}")
        counted = _counted_goal(m, goal)
        new_kind = kind or counted.kind
        if new_kind not in GOAL_KINDS:
            raise MatchRuleError(f"{new_kind!r} is not a kind of goal")
        _check_side(m, counted.team, player, new_kind)
        event = _append(
            m,
            kind=new_kind,
            period=counted.period,
            minute=counted.minute,
            stoppage=counted.stoppage,
            team=counted.team,
            player=player,
            detail="correction",
            supersedes=counted,
            provider=provider,
            provider_event_id=provider_event_id,
        )
        _after_correction(m)
        return event

    return _apply_once(match, provider, provider_event_id, change)


def match_record_shootout_kick(
    *,
    match: Match,
    team: Team,
    scored: bool,
    player: Player | None = None,
    provider: str = "",
    provider_event_id: str | None = None,
) -> Recorded:
    def change(m: Match) -> MatchEvent:
        if m.status != S.PENALTIES:
            raise MatchRuleError(f"shootout kicks need a shootout, the match is {m.status}")
        _check_side(m, team, player, EventKind.SHOOTOUT_KICK)
        event = _append(
            m,
            kind=EventKind.SHOOTOUT_KICK,
            period=5,
            team=team,
            player=player,
            scored=scored,
            provider=provider,
            provider_event_id=provider_event_id,
        )
        _recount(m)
        return event

    return _apply_once(match, provider, provider_event_id, change)


def match_set_possession(
    *,
    match: Match,
    home_possession: int,
    provider: str = "",
    provider_event_id: str | None = None,
) -> Recorded:
    """Record the home team's ball possession (percent); after full time it is a correction
    of the result (possession predictions settle on it)."""
    if not 0 <= home_possession <= 100:
        raise MatchRuleError("possession is a percentage, 0 to 100")

    def change(m: Match) -> MatchEvent:
        if m.status not in LIVE_STATUSES and m.status != S.FINISHED:
            raise MatchRuleError(f"no possession for a {m.status} match")
        event = _append(
            m,
            kind=EventKind.POSSESSION,
            detail=str(home_possession),
            provider=provider,
            provider_event_id=provider_event_id,
        )
        m.home_possession = home_possession
        if m.status == S.FINISHED:
            m.result_version += 1
        return event

    return _apply_once(match, provider, provider_event_id, change)


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


def _transition_event(match: Match, status: str, minute: int | None) -> dict[str, object]:
    period = {S.FIRST_HALF: 1, S.HALF_TIME: 1, S.SECOND_HALF: 2, S.EXTRA_TIME: 3, S.PENALTIES: 5}
    if match.status == S.SUSPENDED:  # resumed: not a new kick-off or period
        return {
            "kind": EventKind.STATUS,
            "status": status,
            "minute": minute,
            "period": period.get(status, 0),
        }
    kind = {
        S.FIRST_HALF: EventKind.KICKOFF,
        S.HALF_TIME: EventKind.PERIOD_END,
        S.SECOND_HALF: EventKind.PERIOD_START,
        S.EXTRA_TIME: EventKind.PERIOD_START,
        S.PENALTIES: EventKind.PERIOD_START,
        S.FINISHED: EventKind.FULL_TIME,
    }.get(status, EventKind.STATUS)
    return {"kind": kind, "status": status, "minute": minute, "period": period.get(status, 0)}


def match_change_status(
    *,
    match: Match,
    status: str,
    minute: int | None = None,
    provider: str = "",
    provider_event_id: str | None = None,
) -> Recorded:
    """Move a match along its lifecycle (kick-off, half time, ..., full time, postponed, ...).

    Full time increases `result_version`, which later triggers prediction settlement.
    """

    def change(m: Match) -> MatchEvent:
        _check_transition(m, status)
        fields = _transition_event(m, status, minute)
        resumed = m.status == S.SUSPENDED and status != S.ABANDONED
        event = _append(m, provider=provider, provider_event_id=provider_event_id, **fields)
        if resumed:
            m.status = status
            _touch_minute(m, minute)
        else:
            _enter_status(m, status, minute)
        return event

    return _apply_once(match, provider, provider_event_id, change)


def _enter_status(match: Match, status: str, minute: int | None) -> None:
    match.status = status
    _touch_minute(match, minute)
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


def match_next_statuses(match: Match) -> list[str]:
    """The statuses an operator may move this match to now (for buttons and menus)."""
    candidates = _allowed(match)
    return [value for value, _ in S.choices if value in candidates]


def match_score_consistent(match: Match) -> bool:
    """True when the stored score equals the one derived from the timeline (used by checks)."""
    timeline = list(match.events.order_by("seq"))
    return rules.score(match, timeline) == (match.home_score, match.away_score)


COMMAND_KINDS = [
    *sorted(IN_PLAY_KINDS | LIVE_KINDS),
    EventKind.GOAL_DISALLOWED,
    EventKind.SHOOTOUT_KICK,
    EventKind.POSSESSION,
    "goal_corrected",
    "status",
]


@dataclass(frozen=True)
class EventCommand:
    """One change requested by an operator tool or a provider feed, references resolved.

    `kind` is a directly recordable event kind, `goal_disallowed` or `goal_corrected` (with
    `target`), `shootout_kick` (with `scored`), or `status` (with `status`).
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
    provider: str = ""
    provider_event_id: str | None = None


def match_apply(*, match: Match, command: EventCommand) -> Recorded:
    """Route a command to the service that owns it (one entry point for API and feed)."""
    c = command
    source = {"provider": c.provider, "provider_event_id": c.provider_event_id}
    if c.kind == "status":
        if not c.status:
            raise MatchRuleError("a status change needs a status")
        return match_change_status(match=match, status=c.status, minute=c.minute, **source)
    if c.kind in (EventKind.GOAL_DISALLOWED, "goal_corrected"):
        if c.target is None:
            raise MatchRuleError(f"{c.kind} needs the goal it corrects")
        if c.kind == EventKind.GOAL_DISALLOWED:
            return match_disallow_goal(
                match=match, goal=c.target, reason=c.detail or "VAR", **source
            )
        return match_correct_goal(match=match, goal=c.target, player=c.player, **source)
    if c.kind == EventKind.POSSESSION:
        if c.value is None:
            raise MatchRuleError("possession needs a value (percent)")
        return match_set_possession(match=match, home_possession=c.value, **source)
    if c.kind == EventKind.SHOOTOUT_KICK:
        if c.team is None or c.scored is None:
            raise MatchRuleError("a shootout kick needs a team and whether it was scored")
        return match_record_shootout_kick(
            match=match, team=c.team, scored=c.scored, player=c.player, **source
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
        **source,
    )
