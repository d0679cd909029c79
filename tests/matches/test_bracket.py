"""Knockout placeholders: group tables with their tie-breaks, and a bracket that fills in as
the 2026 World Cup, loaded as it stood before its group stage ended, is played on."""

import datetime as dt
import json

import pytest

from matches import bracket
from matches.bracket_rules import HEAD_TO_HEAD_FIRST, OVERALL_FIRST, Result, group_order
from matches.models import Fixture, Match, MatchStatus, Team
from matches.services import MatchRuleError
from matches.worldcup import DATA_DIR, MatchReplay, worldcup_load

pytestmark = pytest.mark.django_db


def test_the_two_rule_sets_differ_where_head_to_head_and_goal_difference_disagree():
    # A and B on 6 points: B beat A, but A has the better goal difference.
    results = [
        Result("A", "C", 5, 0),
        Result("A", "D", 4, 0),
        Result("B", "A", 1, 0),
        Result("B", "C", 0, 2),
        Result("B", "D", 1, 0),
        Result("C", "D", 0, 0),
    ]
    teams = ["A", "B", "C", "D"]

    assert group_order(teams, results, OVERALL_FIRST)[:2] == [["A"], ["B"]]
    assert group_order(teams, results, HEAD_TO_HEAD_FIRST)[:2] == [["B"], ["A"]]


def test_teams_the_criteria_cannot_separate_stay_tied_for_an_operator():
    results = [Result("A", "B", 1, 1), Result("C", "D", 0, 0), Result("A", "C", 1, 0)]
    results += [Result("B", "D", 1, 0), Result("A", "D", 0, 1), Result("B", "C", 0, 1)]

    assert group_order(["A", "B", "C", "D"], results, HEAD_TO_HEAD_FIRST)[0] == ["A", "B"]


def test_sources_read_as_fans_expect():
    assert bracket.source_label("1A") == "Winner Group A"
    assert bracket.source_label("2B") == "Runner-up Group B"
    assert bracket.source_label("3ABCDF") == "3rd Group A/B/C/D/F"
    assert bracket.source_label("W73") == "Winner Match 73"
    assert bracket.source_label("L101") == "Loser Match 101"


def source_rows() -> list[dict]:
    return json.loads((DATA_DIR / "2026" / "worldcup.json").read_text("utf-8"))["matches"]


def play(match: Match, row: dict) -> None:
    MatchReplay(match, row, (match.home, match.away)).run()


def test_the_2026_bracket_fills_in_as_the_tournament_is_played_from_an_as_of_load():
    as_of = dt.datetime(2026, 6, 24, tzinfo=dt.UTC)  # the group stage ends on 27 June
    worldcup_load(year=2026, as_of=as_of)
    competition = Match.objects.first().competition
    fixtures = {f.number: f for f in Fixture.objects.filter(competition=competition)}
    assert len(fixtures) == 32 and all(f.match is None for f in fixtures.values())
    assert fixtures[73].home_source == "2A" and fixtures[74].away_source == "3ABCDF"
    waiting = Match.objects.filter(status=MatchStatus.SCHEDULED, stage__kind="group")
    assert waiting.count() > 0
    assert not Match.objects.filter(stage__kind="knockout").exists()  # nothing to predict yet

    rows = source_rows()
    by_teams = {(r["team1"], r["team2"]): r for r in rows}
    for match in waiting.select_related("home", "away").order_by("kickoff"):
        play(match, by_teams[(match.home.name, match.away.name)])
    bracket.bracket_resolve(competition)

    # Every Round of 32 match, third-placed slots included, has the teams that played it.
    for row in rows:
        if row.get("num"):
            fixture = Fixture.objects.get(competition=competition, number=row["num"])
            if row["num"] <= 88:
                assert (fixture.home_team.name, fixture.away_team.name) == (
                    row["team1"],
                    row["team2"],
                ), row["num"]
                assert fixture.match is not None
            else:
                assert fixture.match is None  # winners of matches not played yet

    # Play the knockouts in match order: each later round fills in from the results.
    for row in sorted((r for r in rows if r.get("num")), key=lambda r: r["num"]):
        fixture = Fixture.objects.select_related("match__home", "match__away").get(
            competition=competition, number=row["num"]
        )
        assert (fixture.match.home.name, fixture.match.away.name) == (row["team1"], row["team2"])
        play(fixture.match, row)
        bracket.bracket_resolve(competition)
    final = Fixture.objects.get(competition=competition, number=104).match
    assert final.slug == "esp-vs-arg-2026-07-19" and final.status == MatchStatus.FINISHED


def test_an_operator_sets_what_the_data_cannot_decide():
    worldcup_load(year=2026, as_of=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    fixture = Fixture.objects.get(number=74)
    germany, paraguay = Team.objects.get(code="GER"), Team.objects.get(code="PAR")

    match = bracket.fixture_set_team(fixture=fixture, home=germany, away=paraguay)

    assert match is not None and match.slug.startswith("ger-vs-par-2026-06-")
    with pytest.raises(MatchRuleError, match="its teams are set"):
        bracket.fixture_set_team(fixture=fixture, home=paraguay, away=germany)


def test_the_bracket_is_served_with_sources_labels_and_known_teams():
    worldcup_load(year=2026, as_of=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    from rest_framework.test import APIClient

    competition = Fixture.objects.first().competition
    body = APIClient().get(f"/api/v1/competitions/{competition.slug}/bracket/").json()

    assert len(body) == 32 and body[0]["number"] == 73
    assert body[0]["home"] == {"source": "2A", "label": "Runner-up Group A", "team": None}
    assert body[-1]["away"]["label"] == "Winner Match 102" and body[-1]["match"] is None


def test_the_group_tables_equal_a_recomputation_from_the_results(api):
    worldcup_load(year=2022)
    competition = Match.objects.filter(kickoff__year=2022).first().competition

    answer = api.get(f"/api/v1/competitions/{competition.slug}/groups/")

    assert answer.status_code == 200
    groups = {g["group"]: g for g in answer.json()}
    assert sorted(groups) == list("ABCDEFGH") and all(g["complete"] for g in groups.values())
    for letter, group in groups.items():
        expected: dict[str, list[int]] = {}  # code -> [played, points, for, against]
        for m in Match.objects.filter(competition=competition, group__endswith=f" {letter}"):
            for code, scored, conceded in (
                (m.home.code, m.home_score, m.away_score),
                (m.away.code, m.away_score, m.home_score),
            ):
                row = expected.setdefault(code, [0, 0, 0, 0])
                row[0] += 1
                row[1] += 3 if scored > conceded else scored == conceded
                row[2] += scored
                row[3] += conceded
        table = group["table"]
        got = {r["team"]["code"]: [r["played"], r["points"], r["goals_for"], r["goals_against"]]
               for r in table}  # fmt: skip
        assert got == expected, letter
        keys = [(r["points"], r["difference"], r["goals_for"]) for r in table]
        assert keys == sorted(keys, reverse=True), letter  # 2022: overall criteria first
    assert [r["team"]["code"] for r in groups["C"]["table"]] == ["ARG", "POL", "MEX", "KSA"]
