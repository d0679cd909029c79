"""The counting rules of a match timeline, in one place: the services derive the stored
score from them, the live state replays them event by event, and settlement scores
predictions against them.

A goal counts for the team credited (an own goal is credited to the other side already)
unless a later event supersedes it: a disallowed goal and a corrected one stay in the
timeline for the record but no longer count. Scored shootout kicks make the shootout score.
"""

from __future__ import annotations

from collections.abc import Sequence

from matches.models import GOAL_KINDS, EventKind, Match, MatchEvent


def goals_that_count(timeline: Sequence[MatchEvent]) -> list[MatchEvent]:
    """The goals of `timeline` (a match's events, or the first n of them) that still count."""
    superseded = {e.supersedes_id for e in timeline if e.supersedes_id}
    return [e for e in timeline if e.kind in GOAL_KINDS and e.pk not in superseded]


def per_side(match: Match, events: Sequence[MatchEvent]) -> tuple[int, int]:
    """(home, away) count of `events` by the team credited."""
    home = sum(1 for e in events if e.team_id == match.home_id)
    return home, len(events) - home


def score(match: Match, timeline: Sequence[MatchEvent]) -> tuple[int, int]:
    return per_side(match, goals_that_count(timeline))


def shootout_score(match: Match, timeline: Sequence[MatchEvent]) -> tuple[int, int]:
    kicks = [e for e in timeline if e.kind == EventKind.SHOOTOUT_KICK and e.scored]
    return per_side(match, kicks)
