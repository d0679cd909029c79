"""Knockout brackets: fixtures whose teams come from group tables and earlier matches.

A `Fixture` is a knockout match as the competition's structure defines it (its number, stage,
kick-off, venue) with, for each side, where the team comes from:

    1A winner of group A       2B runner-up of group B
    3ABCDF a best third-placed team, from one of groups A, B, C, D, F
    W73 the winner of match 73  L101 the loser of match 101

The structure ships as data (matches/data/brackets/<season>.json, with its source). As the
tournament goes on, `bracket_resolve` fills in each side the results decide, and creates
the match once both teams are known: until then nothing that needs the teams (predictions,
the match channel) exists. Where the rules need data the project does not have (fair-play
points, a drawing of lots, a best-thirds combination missing from the data), the side stays
open and an operator sets it in the admin (`fixture_set_team`). docs/tournament.md.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.db import transaction

from matches import effects, services
from matches.bracket_rules import Result, Row, Tiers, group_order, ranked_thirds, table
from matches.models import Competition, Fixture, Match, MatchStatus, Stage, Team

logger = logging.getLogger("livescore.bracket")

DATA_DIR = Path(__file__).resolve().parent / "data" / "brackets"
SOURCE = re.compile(
    r"^(?:(?P<pos>[12])(?P<group>[A-L])|3(?P<groups>[A-L]{2,12})|(?P<wl>[WL])(?P<match>\d{1,3}))$"
)


def source_label(source: str) -> str:
    """How a fan reads a side's source: "Winner Group A", "Winner Match 73", ..."""
    found = SOURCE.match(source)
    if found is None:
        return source
    if found["pos"]:
        return f"{'Winner' if found['pos'] == '1' else 'Runner-up'} Group {found['group']}"
    if found["groups"]:
        return f"3rd Group {'/'.join(found['groups'])}"
    return f"{'Winner' if found['wl'] == 'W' else 'Loser'} Match {found['match']}"


@cache
def bracket_data(season: int) -> dict[str, Any] | None:
    path = DATA_DIR / f"{season}.json"
    return json.loads(path.read_text("utf-8")) if path.exists() else None


# ---- what the results decide ----------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    complete: bool  # every match of the group finished
    order: Tiers  # team ids, best first; a tier of several is a tie left to an operator
    rows: dict[int, Row]

    def at(self, position: int) -> int | None:
        """The team at a 1-based position, if the group is complete and it is not tied."""
        if not self.complete:
            return None
        flat = [tier for tier in self.order for _ in tier]
        tier = flat[position - 1] if position <= len(flat) else []
        return tier[0] if len(tier) == 1 else None


def groups(competition: Competition, rules: str) -> dict[str, Group]:
    """Each group's table (by letter), from its finished matches."""
    matches = Match.objects.filter(competition=competition, stage__kind=Stage.Kind.GROUP)
    by_group: dict[str, list[Match]] = {}
    for match in matches.exclude(group=""):
        by_group.setdefault(match.group.split()[-1], []).append(match)
    out = {}
    for letter, group_matches in sorted(by_group.items()):
        teams = sorted({t for m in group_matches for t in (m.home_id, m.away_id)})
        results = [
            Result(m.home_id, m.away_id, m.home_score, m.away_score)
            for m in group_matches
            if m.status == MatchStatus.FINISHED
        ]
        complete = all(m.status == MatchStatus.FINISHED for m in group_matches)
        out[letter] = Group(complete, group_order(teams, results, rules), table(teams, results))
    return out


def best_thirds(all_groups: dict[str, Group], qualify: int) -> str | None:
    """The letters of the groups whose third-placed teams qualify (sorted, e.g.
    "BDEFIJKL"), once every group is complete and the cut is not a tie."""
    if not qualify or not all_groups or not all(g.complete for g in all_groups.values()):
        return None
    thirds = {g.at(3): letter for letter, g in all_groups.items()}
    if None in thirds:
        return None
    rows = [all_groups[letter].rows[team] for team, letter in thirds.items() if team]
    qualified: list[int] = []
    for tier in ranked_thirds(rows):
        if len(qualified) + len(tier) > qualify and len(qualified) < qualify:
            return None  # the cut falls inside a tie: fair play or lots decide
        if len(qualified) < qualify:
            qualified += tier
    return "".join(sorted(thirds[t] for t in qualified))


def winner_and_loser(match: Match) -> tuple[int, int] | None:
    if match.status != MatchStatus.FINISHED:
        return None
    home, away = (match.home_score, match.away_score)
    if home == away and match.home_pens is not None:
        home, away = match.home_pens, match.away_pens or 0
    if home == away:
        return None
    return (match.home_id, match.away_id) if home > away else (match.away_id, match.home_id)


# ---- resolving ------------------------------------------------------------------------------


@dataclass
class _Decided:
    groups: dict[str, Group]
    thirds: dict[str, str]  # fixture number -> group letter of the third it gets
    played: dict[int, Match]  # fixture number -> its match


def _team_for(source: str, number: int, decided: _Decided) -> int | None:
    found = SOURCE.match(source)
    if found is None:
        return None
    if found["pos"]:
        group = decided.groups.get(found["group"])
        return group.at(int(found["pos"])) if group else None
    if found["groups"]:
        letter = decided.thirds.get(str(number))
        group = decided.groups.get(letter) if letter else None
        return group.at(3) if group else None
    earlier = decided.played.get(int(found["match"]))
    outcome = winner_and_loser(earlier) if earlier else None
    if outcome is None:
        return None
    return outcome[0] if found["wl"] == "W" else outcome[1]


def bracket_resolve(competition: Competition) -> list[Match]:
    """Fill in every side the results now decide and create each match whose two teams
    are known. Idempotent: returns the matches created by this call."""
    data = bracket_data(competition.season)
    fixtures = list(Fixture.objects.filter(competition=competition).order_by("number"))
    if data is None or not fixtures:
        return []
    all_groups = groups(competition, data["group_tiebreak"])
    combination = best_thirds(all_groups, data.get("best_thirds", 0))
    thirds = data["third_place"]["combinations"].get(combination or "", {})
    if combination and not thirds:
        logger.warning("best thirds %s not in the data: an operator sets them", combination)
    played = {f.number: f.match for f in fixtures if f.match is not None}
    decided = _Decided(all_groups, thirds, played)
    created = []
    for fixture in fixtures:
        if fixture.match_id is not None:
            continue  # decided and played (or playing): nothing left to fill in
        home = fixture.home_team_id or _team_for(fixture.home_source, fixture.number, decided)
        away = fixture.away_team_id or _team_for(fixture.away_source, fixture.number, decided)
        if (home, away) == (fixture.home_team_id, fixture.away_team_id) and not (home and away):
            continue  # nothing new decided for this fixture
        match = _fill(fixture, home, away)
        if match is not None:
            created.append(match)
            played[fixture.number] = match
    return created


def _fill(fixture: Fixture, home: int | None, away: int | None) -> Match | None:
    """Store the fixture's known teams; create its match once both are. Returns it when
    created here."""
    with transaction.atomic():
        locked = Fixture.objects.select_for_update().get(pk=fixture.pk)
        before = (locked.home_team_id, locked.away_team_id)
        locked.home_team_id = locked.home_team_id or home
        locked.away_team_id = locked.away_team_id or away
        if (locked.home_team_id, locked.away_team_id) != before:
            effects.bracket_changed(fixture.competition)
        created = None
        if locked.match_id is None and locked.home_team_id and locked.away_team_id:
            created = _create_match(locked)
            locked.match = created
        locked.save()
    fixture.refresh_from_db()
    return created


def _create_match(fixture: Fixture) -> Match:
    assert fixture.home_team_id and fixture.away_team_id  # the caller checked both are decided
    home, away = (
        Team.objects.get(pk=fixture.home_team_id),
        Team.objects.get(pk=fixture.away_team_id),
    )
    logger.info("fixture %s resolved: %s v %s", fixture.number, home.code, away.code)
    return services.match_create(
        competition=fixture.competition,
        stage=fixture.stage,
        home=home,
        away=away,
        kickoff=fixture.kickoff,
        venue=fixture.venue,
    )


def fixture_set_team(*, fixture: Fixture, home: Team | None, away: Team | None) -> Match | None:
    """An operator decides what the data cannot (fair play, lots, a best-thirds combination
    missing from the data). Refused once the fixture's match exists."""
    if fixture.match_id is not None:
        raise services.MatchRuleError("the fixture's match exists: its teams are set")
    if home and away and home.pk == away.pk:
        raise services.MatchRuleError("a team cannot play itself")
    return _fill(fixture, home.pk if home else None, away.pk if away else None)
