"""Ties on every board: more points, then more exact scores, then the earlier fan."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from matches.models import MatchStatus
from matches.services import match_change_status, match_record_goal
from predictions import leaderboard, provisional
from predictions.models import Kind, ScoringRules
from tests.factories import make_player
from tests.predictions.conftest import settle
from tests.predictions.helpers import play, predict


@pytest.fixture
def level_on_eight(match, home):
    """Three fans on 8 points at 1-0: `late` by an exact score (but joined last), `early`
    by winner + first scorer, `middle` by goal difference + winner."""
    ScoringRules.objects.create(competition=match.competition, exact_score=8)
    messi = make_player(home, "Lionel Messi")
    early, middle, late = (User.objects.create_user(n) for n in ("early", "middle", "late"))
    predict(early, match, Kind.WINNER, outcome="H")
    predict(early, match, Kind.FIRST_SCORER, player=messi)
    predict(middle, match, Kind.SCORE, home_goals=2, away_goals=1)
    predict(middle, match, Kind.WINNER, outcome="H")
    predict(late, match, Kind.SCORE, home_goals=1, away_goals=0)
    return match, messi, (late, early, middle)


@pytest.mark.django_db
def test_settled_boards_order_ties_by_exact_scores_then_the_earlier_fan(level_on_eight, home):
    match, messi, expected = level_on_eight
    play(match, [(home, 10, messi, "goal")])

    settle(match)

    order = [e.user_id for e in leaderboard.top(leaderboard.GLOBAL, 3)]
    assert order == [u.pk for u in expected]
    assert [e.user_id for e in leaderboard.top(leaderboard.match_scope(match.slug), 3)] == order
    assert [(e.points, e.exacts) for e in leaderboard.top(leaderboard.GLOBAL, 3)] == [
        (8, 1),
        (8, 0),
        (8, 0),
    ]
    body = APIClient().get("/api/v1/leaderboards/global/?n=3").json()
    assert [(e["user_id"], e["points"], e["exacts"]) for e in body["top"]] == [
        (expected[0].pk, 8, 1),
        (expected[1].pk, 8, 0),
        (expected[2].pk, 8, 0),
    ]
    assert leaderboard.check_all() == []


@pytest.mark.django_db
def test_provisional_boards_break_ties_the_same_way(level_on_eight, home):
    match, messi, expected = level_on_eight
    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    match_record_goal(match=match, team=home, minute=10, player=messi)

    provisional.provisional_changed(match.pk)

    view = provisional.view(leaderboard.GLOBAL, 3, None)
    assert view is not None
    assert [(e.user_id, e.points, e.exacts) for e in view[0]] == [
        (expected[0].pk, 8, 1),
        (expected[1].pk, 8, 0),
        (expected[2].pk, 8, 0),
    ]


@pytest.mark.django_db
def test_anonymous_pages_kept_in_the_process_follow_every_board_write(fans):
    leaderboard.write(leaderboard.GLOBAL, [(fans[0].pk, 5, 0, 1)])
    anonymous = APIClient()
    first = anonymous.get("/api/v1/leaderboards/global/?n=2").json()
    assert anonymous.get("/api/v1/leaderboards/global/?n=2").json() == first

    leaderboard.write(leaderboard.GLOBAL, [(fans[1].pk, 9, 1, 1)])
    after = anonymous.get("/api/v1/leaderboards/global/?n=2").json()
    leaderboard.remove(leaderboard.GLOBAL, fans[1].pk)
    removed = anonymous.get("/api/v1/leaderboards/global/?n=2").json()

    assert [e["user_id"] for e in first["top"]] == [fans[0].pk]
    assert [e["user_id"] for e in after["top"]] == [fans[1].pk, fans[0].pk]
    assert [e["user_id"] for e in removed["top"]] == [fans[0].pk]
