"""The skeleton every change to a match shares: lock the row, apply once, append events.

A service opens `locked(match)`, which locks the match row (`SELECT ... FOR UPDATE`) for one
short transaction and yields a `MatchChange`: the locked match, the events appended to it
(`append`, each with the next `seq`) and its timeline, read at most once under the lock
(the score is derived from it, and the effects build the channel's snapshot from it). When
the block ends with events appended, the effects announce them after commit
(matches/effects.py); a new `result_version` starts settlement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction

from core.errors import DomainError
from matches import effects
from matches.live import timeline as read_timeline
from matches.models import Match, MatchEvent


class MatchRuleError(DomainError):
    """A requested change breaks a match rule. The message is safe to show to an operator."""

    code = "match_rule"


@dataclass(frozen=True)
class Source:
    """Where a change comes from: a provider and its id for the event (a feed), or nobody
    (an operator). A provider event applied before is not applied again."""

    provider: str = ""
    event_id: str | None = None


OPERATOR = Source()


@dataclass(frozen=True)
class Recorded:
    event: MatchEvent
    created: bool  # False when the provider event id had been applied before


@dataclass
class MatchChange:
    """One atomic change to a locked match."""

    match: Match
    appended: list[MatchEvent] = field(default_factory=list)
    _timeline: list[MatchEvent] | None = None

    def append(self, source: Source = OPERATOR, **fields: object) -> MatchEvent:
        """Append one event with the next seq."""
        match = self.match
        match.seq += 1
        event = MatchEvent.objects.create(
            match=match,
            seq=match.seq,
            provider=source.provider,
            provider_event_id=source.event_id,
            **fields,
        )
        self.appended.append(event)
        if self._timeline is not None:
            self._timeline.append(event)
        return event

    def timeline(self) -> list[MatchEvent]:
        """The match's events in seq order, appended ones included: read once per change."""
        if self._timeline is None:
            self._timeline = read_timeline(self.match)
        return self._timeline


@contextmanager
def locked(match: Match) -> Iterator[MatchChange]:
    """Lock the match row for one atomic change; refreshes `match` in place afterwards."""
    with transaction.atomic():
        row = (
            Match.objects.select_for_update(of=("self",))
            .select_related("stage", "home", "away")
            .get(pk=match.pk)
        )
        change = MatchChange(row)
        version = row.result_version
        yield change
        if change.appended:
            # Announced with the state after the whole change, once it has committed.
            effects.match_changed(change.match, change.appended, change.timeline())
        if row.result_version != version:
            effects.result_changed(row)
    match.refresh_from_db()


def apply_once(
    match: Match, source: Source, apply: Callable[[MatchChange], MatchEvent]
) -> Recorded:
    """The opening every recording service shares: lock the match; a provider event applied
    before is answered with the earlier event (feeds re-send, and a re-sent goal must not
    count twice); otherwise `apply` validates, appends its event and updates the locked
    match, which is then saved."""
    with locked(match) as change:
        if earlier := _duplicate(source):
            return Recorded(earlier, created=False)
        event = apply(change)
        change.match.save()
    return Recorded(event, created=True)


def _duplicate(source: Source) -> MatchEvent | None:
    if source.event_id is None:
        return None
    return MatchEvent.objects.filter(
        provider=source.provider, provider_event_id=source.event_id
    ).first()


def touch_minute(match: Match, minute: int | None) -> None:
    """The match clock moves forward with the events that carry a minute, never back."""
    if minute is not None and minute >= (match.minute or 0):
        match.minute = minute
