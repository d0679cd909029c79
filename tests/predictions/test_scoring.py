import pytest

from matches.models import EventKind, MatchStatus
from matches.services import match_change_status, match_record_goal, match_record_shootout_kick
from predictions import scoring
from predictions.models import Kind, Prediction, ScoringRules
from tests.factories import make_player
from tests.predictions.helpers import play

pytestmark = pytest.mark.django_db
RULES = ScoringRules()


def result_of(match, rules=RULES):
    match.refresh_from_db()
    return scoring.match_result(match, rules)


def points(result, kind, rules=RULES, **fields):
    return scoring.points_for(Prediction(kind=kind, **fields), result, rules)


@pytest.mark.parametrize(
    "home_goals, away_goals, expected",
    [(2, 1, 10), (3, 2, 5), (1, 0, 5), (4, 0, 2), (1, 1, 0), (0, 2, 0)],
)
def test_score_points(match, home, away, home_goals, away_goals, expected):
    play(match, [(home, 10, None, "goal"), (away, 50, None, "goal"), (home, 80, None, "goal")])

    result = result_of(match)

    assert points(result, Kind.SCORE, home_goals=home_goals, away_goals=away_goals) == expected


def test_first_scorer_skips_own_goals(match, home, away):
    defender, striker = make_player(away), make_player(home)
    play(match, [(home, 5, defender, EventKind.OWN_GOAL), (home, 30, striker, "goal")])

    result = result_of(match)

    assert result.first_scorer_id == striker.pk
    assert points(result, Kind.FIRST_SCORER, player=striker) == RULES.first_scorer
    assert points(result, Kind.FIRST_SCORER, player=defender) == 0


def test_goalless_match_pays_no_goal(match):
    play(match)

    result = result_of(match)

    assert result.first_scorer_id is None
    assert points(result, Kind.FIRST_SCORER, no_goal=True) == RULES.first_scorer
    assert points(result, Kind.SCORE, home_goals=0, away_goals=0) == RULES.exact_score
    assert points(result, Kind.WINNER, outcome="D") == RULES.winner


def test_only_own_goals_count_as_no_scorer(match, home, away):
    play(match, [(home, 5, make_player(away), EventKind.OWN_GOAL)])

    assert points(result_of(match), Kind.FIRST_SCORER, no_goal=True) == RULES.first_scorer


@pytest.mark.parametrize(
    "possession, band", [(39, 1), (40, 2), (49, 2), (50, 3), (59, 3), (60, 4), (100, 4), (0, 1)]
)
def test_possession_band_edges(possession, band):
    assert scoring.possession_band(possession) == band


def test_possession_unknown_pays_nothing(match):
    play(match)

    assert points(result_of(match), Kind.POSSESSION, band=3) == 0


def test_possession_known_pays_its_band(match):
    play(match, possession=55)

    assert points(result_of(match), Kind.POSSESSION, band=3) == RULES.possession


def knockout_to_penalties(m, home, away):
    """1-1 after 90 minutes, 2-2 after extra time, the home side wins the shootout."""
    match_change_status(match=m, status=MatchStatus.FIRST_HALF)
    match_record_goal(match=m, team=home, minute=10)
    match_change_status(match=m, status=MatchStatus.HALF_TIME, minute=45)
    match_change_status(match=m, status=MatchStatus.SECOND_HALF, minute=45)
    match_record_goal(match=m, team=away, minute=60)
    match_change_status(match=m, status=MatchStatus.EXTRA_TIME, minute=90)
    match_record_goal(match=m, team=home, minute=100)
    match_record_goal(match=m, team=away, minute=110)
    match_change_status(match=m, status=MatchStatus.PENALTIES, minute=120)
    match_record_shootout_kick(match=m, team=home, scored=True)
    match_record_shootout_kick(match=m, team=away, scored=False)
    match_change_status(match=m, status=MatchStatus.FINISHED, minute=120)


def test_penalties_decide_the_winner_by_default(knockout_match, home, away):
    knockout_to_penalties(knockout_match, home, away)

    result = result_of(knockout_match)

    assert (result.home, result.away, result.outcome) == (2, 2, "H")


def test_rules_can_make_a_shootout_a_draw_and_ignore_extra_time(knockout_match, home, away):
    knockout_to_penalties(knockout_match, home, away)
    rules = ScoringRules(penalties_decide_winner=False, extra_time_counts=False)

    result = result_of(knockout_match, rules)

    assert (result.home, result.away, result.outcome) == (1, 1, "D")
    rules_draw = ScoringRules(penalties_decide_winner=False)
    assert result_of(knockout_match, rules_draw).outcome == "D"


def test_abandoned_match_is_void(match, home):
    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    match_record_goal(match=match, team=home, minute=10)
    match_change_status(match=match, status=MatchStatus.ABANDONED, minute=30)

    result = result_of(match)

    assert result.void and points(result, Kind.SCORE, home_goals=1, away_goals=0) == 0
    assert match.result_version == 1
