"""Group tables and their tie-breaks, pure: results in, ordered teams out (docs/tournament.md).

`group_order` ranks a group's teams by the competition's criteria. Two rule sets:

- `overall_first` (World Cup 2022): points; goal difference; goals scored; then, among teams
  still level, the same three over the matches between them.
- `head_to_head_first` (World Cup 2026): points; then, among the teams level on points,
  points, goal difference and goals scored in the matches between them (applied again to
  any smaller group still level); then goal difference and goals scored in all matches.

Fair-play points and the drawing of lots come last in both; the project has no data for
them, so teams still level after the criteria it can apply are returned together as a tie
an operator resolves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

OVERALL_FIRST = "overall_first"
HEAD_TO_HEAD_FIRST = "head_to_head_first"


@dataclass(frozen=True)
class Result:
    home: int  # team ids
    away: int
    home_goals: int
    away_goals: int


@dataclass
class Row:
    team: int
    played: int = 0
    points: int = 0
    goals_for: int = 0
    goals_against: int = 0

    @property
    def difference(self) -> int:
        return self.goals_for - self.goals_against

    def key(self) -> tuple[int, int, int]:
        return (self.points, self.difference, self.goals_for)


def table(teams: Iterable[int], results: Iterable[Result]) -> dict[int, Row]:
    """Each team's row over the results between `teams` only."""
    rows = {t: Row(t) for t in teams}
    for r in results:
        if r.home not in rows or r.away not in rows:
            continue
        for team, scored, conceded in (
            (r.home, r.home_goals, r.away_goals),
            (r.away, r.away_goals, r.home_goals),
        ):
            row = rows[team]
            row.played += 1
            row.goals_for += scored
            row.goals_against += conceded
            row.points += 3 if scored > conceded else 1 if scored == conceded else 0
    return rows


Tiers = list[list[int]]  # teams in order; a list of more than one is a tie left unresolved


def _split(teams: list[int], key: Callable[[int], Any]) -> Tiers:
    """`teams` ordered by `key` (descending), equal keys kept together."""
    ordered = sorted(teams, key=key, reverse=True)
    tiers: Tiers = []
    for team in ordered:
        if tiers and key(tiers[-1][0]) == key(team):
            tiers[-1].append(team)
        else:
            tiers.append([team])
    return tiers


def _head_to_head(tied: list[int], results: list[Result]) -> Tiers:
    """Order teams level so far by the matches among them; a subset still level is
    ranked again among itself, until nothing changes."""
    rows = table(tied, results)
    tiers = _split(tied, lambda t: rows[t].key())
    if len(tiers) == 1:
        return tiers
    out: Tiers = []
    for tier in tiers:
        out += _head_to_head(tier, results) if len(tier) > 1 else [tier]
    return out


def group_order(teams: list[int], results: list[Result], rules: str) -> Tiers:
    """The group's teams, best first; ties the criteria cannot break stay together."""
    overall = table(teams, results)
    if rules == OVERALL_FIRST:
        tiers = _split(teams, lambda t: overall[t].key())
        return [
            t for tier in tiers for t in (_head_to_head(tier, results) if len(tier) > 1 else [tier])
        ]
    tiers = _split(teams, lambda t: overall[t].points)
    out: Tiers = []
    for tier in tiers:
        if len(tier) == 1:
            out.append(tier)
            continue
        for sub in _head_to_head(tier, results):
            out += _split(sub, lambda t: (overall[t].difference, overall[t].goals_for))
    return out


def ranked_thirds(rows: list[Row]) -> Tiers:
    """Third-placed teams of several groups: points, goal difference, goals scored."""
    by_team = {r.team: r for r in rows}
    return _split(list(by_team), lambda t: by_team[t].key())
