"""Outright predictions: the champion, the finalists and the top scorer, locked at the
tournament's first kick-off and settled exactly once when decided."""

import pytest
from rest_framework.test import APIClient

from matches.models import EventKind, MatchStatus
from matches.services import match_change_status, match_correct_goal
from predictions import leaderboard, outrights
from predictions.models import Outright
from tests.factories import make_player, make_team
from tests.predictions.conftest import totals
from tests.predictions.helpers import play

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def pick(user, competition, kind, **body):
    return api(user).put(f"/api/v1/competitions/{competition.slug}/outrights/{kind}/", body)


def test_picks_are_checked_replaced_and_locked_at_the_first_kickoff(knockout_match, fans, home):
    competition = knockout_match.competition
    messi = make_player(home, "Lionel Messi")
    make_team("BRA")  # exists, but does not play in this tournament

    assert pick(fans[0], competition, "champion", teams=["ARG"]).status_code == 200
    again = pick(fans[0], competition, "champion", teams=["FRA"])
    assert again.status_code == 200 and again.json()[0]["team"] == "FRA"
    assert pick(fans[0], competition, "finalist", teams=["ARG"]).status_code == 400
    assert pick(fans[0], competition, "finalist", teams=["ARG", "ARG"]).status_code == 400
    assert pick(fans[0], competition, "finalist", teams=["ARG", "FRA"]).status_code == 200
    assert pick(fans[0], competition, "champion", teams=["BRA"]).status_code == 400
    assert pick(fans[0], competition, "champion", teams=["XXX"]).status_code == 400
    assert pick(fans[0], competition, "top_scorer", player=messi.pk).status_code == 200
    assert pick(fans[0], competition, "golden_glove", teams=["ARG"]).status_code == 404
    mine = api(fans[0]).get("/api/v1/me/outrights/").json()
    assert sorted((o["kind"], o["team"] or o["player"]) for o in mine) == sorted(
        [("champion", "FRA"), ("finalist", "ARG"), ("finalist", "FRA"), ("top_scorer", messi.pk)]
    )

    match_change_status(match=knockout_match, status=MatchStatus.FIRST_HALF)
    locked = pick(fans[0], competition, "champion", teams=["ARG"])
    assert locked.status_code == 409 and "kicked off" in locked.json()["detail"]


def test_outrights_settle_once_when_decided_and_corrections_move_the_difference(
    knockout_match, fans, home, away
):
    competition = knockout_match.competition
    messi, alvarez = make_player(home, "Lionel Messi"), make_player(home, "Julián Álvarez")
    pick(fans[0], competition, "champion", teams=["ARG"])
    pick(fans[0], competition, "finalist", teams=["ARG", "FRA"])
    pick(fans[1], competition, "champion", teams=["FRA"])
    pick(fans[1], competition, "top_scorer", player=messi.pk)
    pick(fans[2], competition, "top_scorer", player=alvarez.pk)

    assert outrights.outrights_settle(competition.pk) == 0  # nothing decided yet
    play(knockout_match, [(home, 10, messi, "goal"), (home, 20, messi, "goal")])

    outrights.outrights_settle(competition.pk)
    outrights.outrights_settle(competition.pk)  # again: nothing moves

    # fan1: champion 20 + two finalists 10 each; fan2: Messi top scorer 15; fan3 nothing.
    assert totals() == {fans[0].pk: 40, fans[1].pk: 15}
    assert leaderboard.check_all() == []

    knockout_match.refresh_from_db()
    first = knockout_match.events.filter(kind=EventKind.GOAL).order_by("seq")
    for goal in first:
        match_correct_goal(match=knockout_match, goal=goal, player=alvarez)
    outrights.outrights_settle(competition.pk)

    assert totals()[fans[1].pk] == 0 and totals()[fans[2].pk] == 15
    assert Outright.objects.get(user=fans[2]).points == 15
    assert leaderboard.check_all() == []
