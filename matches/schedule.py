"""A fixture's life before the ball rolls: creating a match, moving its kick-off, changing
where it is played, and replaying an abandoned or cancelled one."""

from __future__ import annotations

import datetime as dt

from matches import effects
from matches.changes import MatchChange, MatchRuleError, locked
from matches.models import Competition, EventKind, Match, MatchEvent, MatchStatus, Stage, Team

S = MatchStatus


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


def match_copy(*, source: Match, kickoff: dt.datetime, slug: str) -> Match:
    """A new scheduled match between the same teams, in the same stage and place as `source`
    (a replay of an abandoned match, or the demo's replay of a final)."""
    return match_create(
        competition=source.competition,
        stage=source.stage,
        home=source.home,
        away=source.away,
        kickoff=kickoff,
        venue=source.venue,
        group=source.group,
        slug=slug,
    )


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
    with locked(match) as change:
        m = change.match
        if kickoff != m.kickoff:
            _move_kickoff(change, kickoff, "")
        m.venue, m.group = venue, group
        m.save()


def match_move_kickoff(*, match: Match, kickoff: dt.datetime, reason: str = "") -> MatchEvent:
    """A delayed kick-off or a postponed match's new date. Predictions lock at the new
    kick-off (they stay open while a match is postponed); a postponed match given a date is
    scheduled again. Refused once the match has kicked off."""
    with locked(match) as change:
        event = _move_kickoff(change, kickoff, reason)
        change.match.save()
    return event


def _move_kickoff(change: MatchChange, kickoff: dt.datetime, reason: str) -> MatchEvent:
    match = change.match
    if match.status not in (S.SCHEDULED, S.POSTPONED):
        raise MatchRuleError(f"a {match.status} match's kick-off cannot move")
    if kickoff.tzinfo is None:
        raise MatchRuleError("the kick-off needs a time zone")
    match.kickoff, match.status = kickoff, S.SCHEDULED
    when = kickoff.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%MZ")
    detail = f"{when} {reason.strip()}".strip()[:200]
    return change.append(kind=EventKind.KICKOFF_TIME, status=S.SCHEDULED, detail=detail)


def match_schedule_replay(*, match: Match, kickoff: dt.datetime) -> Match:
    """An abandoned or cancelled match is played again: a new match between the same teams
    in the same stage (new predictions; the old ones stay void), announced on the old
    match's channel."""
    with locked(match) as change:
        m = change.match
        if m.status not in (S.ABANDONED, S.CANCELLED):
            raise MatchRuleError("only an abandoned or cancelled match is replayed")
        if Match.objects.filter(replay_of=m).exists():
            raise MatchRuleError(f"{m.slug} already has a replay")
        replay = match_copy(source=m, kickoff=kickoff, slug=_replay_slug(m, kickoff))
        Match.objects.filter(pk=replay.pk).update(replay_of=m)
        change.append(kind=EventKind.REPLAY_SCHEDULED, status=m.status, detail=replay.slug)
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
