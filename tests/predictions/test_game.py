"""The prediction game: jokers, stage multipliers and the rarity bonus, settled exactly once."""

import pytest
from rest_framework.test import APIClient

from matches.models import MatchStatus
from matches.services import match_change_status, match_correct_goal
from predictions import leaderboard, scoring
from predictions.models import Joker, Kind, Prediction, ScoringRules
from tests.factories import make_player
from tests.predictions.conftest import settle, totals
from tests.predictions.helpers import play, predict


@pytest.fixture
def upcoming(make_match, final_stage):
    """Two matches of the group stage and one of the final, in December."""
    return make_match(day=20), make_match(day=21), make_match(stage=final_stage, day=22)


def test_rarity_bonus_scales_with_the_share_that_got_it_wrong():
    rules = ScoringRules(rarity_bonus=10)

    bonus = scoring.rarity_bonuses(
        {"score": (1, 40), "winner": (30, 40), "possession": (0, 40), "first_scorer": (5, 5)},
        rules,
    )

    # 39 of 40 wrong: 9 (rounded down); 10 of 40 wrong: 2; nobody right or everybody right: none.
    assert bonus == {"score": 9, "winner": 2}


@pytest.mark.django_db
def test_jokers_multipliers_and_rarity_settle_once_and_corrections_move_the_difference(
    knockout_match, home, away, fans
):
    match = knockout_match
    ScoringRules.objects.create(
        competition=match.competition,
        rarity_bonus=4,
        stage_multipliers={match.stage.slug: 2},
    )
    messi, di_maria = make_player(home, "Lionel Messi"), make_player(home, "Ángel Di María")
    # fan1 and fan2 exact (2 of 3 right: bonus 4 * 1/3 -> 1); fan3 wrong; fan2 plays a joker.
    # Scorers: fan1 Messi (1 of 2 right at first: bonus 2), fan4 Di María.
    for fan in fans[:2]:
        predict(fan, match, Kind.SCORE, home_goals=1, away_goals=0)
    predict(fans[2], match, Kind.SCORE, home_goals=0, away_goals=2)
    predict(fans[0], match, Kind.FIRST_SCORER, player=messi)
    predict(fans[3], match, Kind.FIRST_SCORER, player=di_maria)
    Joker.objects.create(user=fans[1], match=match, stage=match.stage)
    play(match, [(home, 20, messi, "goal")])

    settle(match)
    settle(match)  # again: nothing moves

    assert totals() == {
        fans[0].pk: (10 + 1) * 2 + (5 + 2) * 2,
        fans[1].pk: (10 + 1) * 2 * 2,
        fans[2].pk: 0,
        fans[3].pk: 0,
    }
    match.refresh_from_db()
    match_correct_goal(match=match, goal=match.events.get(player=messi), player=di_maria)
    settle(match)

    assert totals() == {
        fans[0].pk: (10 + 1) * 2,
        fans[1].pk: (10 + 1) * 2 * 2,
        fans[2].pk: 0,
        fans[3].pk: (5 + 2) * 2,
    }
    assert leaderboard.check_all() == []


@pytest.mark.django_db
def test_a_joker_moves_within_its_stage_until_its_match_kicks_off(upcoming, fan):
    first, second, final = upcoming
    api = APIClient()
    api.force_authenticate(fan)

    assert api.put(f"/api/v1/matches/{first.slug}/joker/").status_code == 201
    assert api.put(f"/api/v1/matches/{first.slug}/joker/").status_code == 200
    assert api.put(f"/api/v1/matches/{final.slug}/joker/").status_code == 201  # another stage
    moved = api.put(f"/api/v1/matches/{second.slug}/joker/")
    assert moved.status_code == 201 and moved.json()["match"] == second.slug
    assert sorted(j["match"] for j in api.get("/api/v1/me/jokers/").json()) == sorted(
        [second.slug, final.slug]
    )

    match_change_status(match=second, status=MatchStatus.FIRST_HALF)
    refused = api.put(f"/api/v1/matches/{first.slug}/joker/")
    assert refused.status_code == 409
    assert refused.json()["detail"] == "your joker for this round is on a match that has kicked off"
    assert api.delete(f"/api/v1/matches/{second.slug}/joker/").status_code == 409
    assert api.put(f"/api/v1/matches/{second.slug}/joker/").status_code == 409
    assert api.delete(f"/api/v1/matches/{final.slug}/joker/").status_code == 204
    assert api.delete(f"/api/v1/matches/{final.slug}/joker/").status_code == 404
    assert APIClient().put(f"/api/v1/matches/{first.slug}/joker/").status_code in (401, 403)


@pytest.mark.django_db
def test_a_competition_without_jokers_refuses_them(upcoming, fan):
    first, *_ = upcoming
    ScoringRules.objects.create(competition=first.competition, jokers=False)
    api = APIClient()
    api.force_authenticate(fan)

    response = api.put(f"/api/v1/matches/{first.slug}/joker/")

    assert response.status_code == 409 and "no jokers" in response.json()["detail"]


@pytest.mark.django_db
def test_a_matchday_is_saved_at_once_and_each_match_locks_at_its_own_kick_off(upcoming, fan):
    first, second, _ = upcoming
    api = APIClient()
    api.force_authenticate(fan)
    day = {
        "picks": [
            {"match": first.slug, "kind": "score", "home_goals": 2, "away_goals": 1},
            {"match": first.slug, "kind": "winner", "outcome": "H"},
            {"match": second.slug, "kind": "score", "home_goals": 0, "away_goals": 0},
        ],
        "jokers": [second.slug],
    }
    answer = api.post("/api/v1/me/matchday/", day, format="json")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert len(body["saved"]) == 3 and body["refused"] == []
    assert [j["match"] for j in body["jokers"]] == [second.slug]
    assert api.post("/api/v1/me/matchday/", day, format="json").json()["refused"] == []  # again

    match_change_status(match=second, status=MatchStatus.FIRST_HALF)  # kicks off meanwhile
    day["picks"][0]["home_goals"] = 3
    body = api.post("/api/v1/me/matchday/", day, format="json").json()
    assert [(r["match"], r["kind"], r["code"]) for r in body["refused"]] == [
        (second.slug, "score", "locked"),
        (second.slug, "joker", "locked"),
    ]
    assert [(p["match"], p["home_goals"]) for p in body["saved"]] == [
        (first.slug, 3),
        (first.slug, None),
    ]
    mine = {
        (p["match"], p["kind"]): p for p in api.get("/api/v1/me/predictions/").json()["results"]
    }
    assert mine[(second.slug, "score")]["home_goals"] == 0  # the locked pick kept its value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("picks", "jokers", "reason"),
    [
        ([{"match": "m1", "kind": "score", "home_goals": 1}], [], "a score needs home_goals"),
        ([{"match": "m1", "kind": "winner", "outcome": "X"}], [], "not a valid choice"),
        ([{"match": "nope", "kind": "winner", "outcome": "H"}], [], "does not exist"),
        ([{"match": "m1", "kind": "guess", "outcome": "H"}], [], "not a valid choice"),
        ([{"match": "m1", "kind": "winner", "outcome": "H"}] * 2, [], "appear twice"),
        ([], ["m1", "m2"], "one joker per stage"),
    ],
)
def test_a_bad_matchday_is_a_400_and_saves_nothing(upcoming, fan, picks, jokers, reason):
    slugs = {"m1": upcoming[0].slug, "m2": upcoming[1].slug}
    picks = [{**p, "match": slugs.get(p["match"], p["match"])} for p in picks]
    api = APIClient()
    api.force_authenticate(fan)
    body = {"picks": picks, "jokers": [slugs[j] for j in jokers]}
    answer = api.post("/api/v1/me/matchday/", body, format="json")
    assert answer.status_code == 400 and reason in answer.content.decode()
    assert not Prediction.objects.exists() and not Joker.objects.exists()
    assert APIClient().post("/api/v1/me/matchday/", body, format="json").status_code in (401, 403)
