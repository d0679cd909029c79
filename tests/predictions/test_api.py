import datetime as dt
import re

import pytest
from django.utils import timezone

from matches.models import Match, MatchStatus
from matches.services import match_change_status
from predictions import services
from predictions.models import LeagueInvite, Prediction
from tests.conftest import token_client
from tests.factories import make_player
from tests.predictions.helpers import play, predict
from tests.predictions.test_settlement import settle

pytestmark = pytest.mark.django_db


@pytest.fixture
def upcoming(match):
    Match.objects.filter(pk=match.pk).update(kickoff=timezone.now() + dt.timedelta(hours=2))
    match.refresh_from_db()
    return match


def url(match, kind="score"):
    return f"/api/v1/matches/{match.slug}/predictions/{kind}/"


def test_put_creates_then_changes_the_same_prediction(upcoming, fans):
    client = token_client(fans[0])

    created = client.put(url(upcoming), {"home_goals": 2, "away_goals": 1}, format="json")
    changed = client.put(url(upcoming), {"home_goals": 3, "away_goals": 1}, format="json")

    assert (created.status_code, changed.status_code) == (201, 200)
    assert Prediction.objects.get().home_goals == 3


@pytest.mark.parametrize(
    "kind, body",
    [
        ("score", {"home_goals": 1}),
        ("winner", {"outcome": "X"}),
        ("first_scorer", {}),
        ("possession", {"band": 7}),
        ("score", {"home_goals": -1, "away_goals": 0}),
    ],
)
def test_bad_picks_get_400(upcoming, fans, kind, body):
    response = token_client(fans[0]).put(url(upcoming, kind), body, format="json")

    assert response.status_code == 400
    assert not Prediction.objects.exists()


def test_unknown_kind_gets_404(upcoming, fans):
    assert token_client(fans[0]).put(url(upcoming, "corners"), {}, format="json").status_code == 404


def test_anonymous_put_gets_401(api, upcoming):
    assert (
        api.put(url(upcoming), {"home_goals": 1, "away_goals": 0}, format="json").status_code == 401
    )


def test_locked_at_kickoff_by_status_and_by_clock(upcoming, fans, match):
    client = token_client(fans[0])
    match_change_status(match=upcoming, status=MatchStatus.FIRST_HALF)

    after_kickoff = client.put(url(upcoming), {"home_goals": 1, "away_goals": 0}, format="json")
    Match.objects.filter(pk=upcoming.pk).update(
        status=MatchStatus.SCHEDULED, kickoff=timezone.now() - dt.timedelta(seconds=1)
    )
    past_kickoff_time = client.put(url(upcoming), {"home_goals": 1, "away_goals": 0}, format="json")

    assert after_kickoff.status_code == 409 and "locked" in after_kickoff.json()["detail"]
    assert past_kickoff_time.status_code == 409
    assert not Prediction.objects.exists()


def test_others_predictions_hidden_until_lock(upcoming, fans, api):
    token_client(fans[0]).put(url(upcoming), {"home_goals": 1, "away_goals": 0}, format="json")
    listing = f"/api/v1/matches/{upcoming.slug}/predictions/"

    before = token_client(fans[1]).get(listing)
    match_change_status(match=upcoming, status=MatchStatus.FIRST_HALF)
    after = token_client(fans[1]).get(listing)

    assert before.status_code == 403
    assert after.status_code == 200 and after.json()["results"][0]["user"] == "fan1"


def test_own_predictions_only(upcoming, fans):
    token_client(fans[0]).put(url(upcoming), {"home_goals": 1, "away_goals": 0}, format="json")

    mine = token_client(fans[0]).get("/api/v1/me/predictions/").json()
    theirs = token_client(fans[1]).get("/api/v1/me/predictions/").json()

    assert mine["count"] == 1 and theirs["count"] == 0


def test_prediction_counts(upcoming, fans, home, api):
    scorer = make_player(home)
    for fan, outcome in zip(fans, "HHDA", strict=True):
        token_client(fan).put(url(upcoming, "winner"), {"outcome": outcome}, format="json")
    token_client(fans[0]).put(url(upcoming, "first_scorer"), {"player": scorer.pk}, format="json")

    counts = api.get(f"/api/v1/matches/{upcoming.slug}/prediction-counts/").json()

    assert counts["winner"] == {"H": 2, "D": 1, "A": 1} and counts["total"] == 4
    assert counts["first_scorer"] == [[scorer.pk, scorer.name, 1]]


def test_league_invites_join_and_remove(fans):
    owner, friend, late, stranger = (token_client(f) for f in fans)
    league = owner.post("/api/v1/leagues/", {"name": "Office"}, format="json").json()
    code = owner.post(f"/api/v1/leagues/{league['id']}/invites/", {"max_uses": 1}, format="json")

    joined = friend.post("/api/v1/leagues/join/", {"code": code.json()["code"]}, format="json")
    full = late.post("/api/v1/leagues/join/", {"code": code.json()["code"]}, format="json")
    not_owner = friend.delete(f"/api/v1/leagues/{league['id']}/members/{fans[0].pk}/")
    removed = owner.delete(f"/api/v1/leagues/{league['id']}/members/{fans[1].pk}/")
    board_after = friend.get(f"/api/v1/leaderboards/league/{league['id']}/")

    assert code.status_code == 201 and joined.status_code == 200
    assert joined.json()["members"] == 2
    assert full.status_code == 410 and "used up" in full.json()["detail"]
    assert not_owner.status_code == 403 and removed.status_code == 204
    assert board_after.status_code == 403
    assert stranger.get(f"/api/v1/leaderboards/league/{league['id']}/").status_code == 403


def test_expired_and_unknown_invites(fans):
    league = services.league_create(owner=fans[0], name="Pub")
    invite = services.league_invite(
        league=league, by=fans[0], expires_in=dt.timedelta(hours=1), max_uses=5
    )
    LeagueInvite.objects.filter(pk=invite.pk).update(expires_at=timezone.now())
    client = token_client(fans[1])

    expired = client.post("/api/v1/leagues/join/", {"code": invite.code}, format="json")
    unknown = client.post("/api/v1/leagues/join/", {"code": "nope"}, format="json")

    assert expired.status_code == 410 and unknown.status_code == 404


def test_invite_codes_are_readable_and_typed_loosely(fans):
    league = services.league_create(owner=fans[0], name="Pub")
    codes = [invite_to(league, fans[0]).code for _ in range(20)]
    old = LeagueInvite.objects.create(
        league=league, code="aB3_x-Yz9Qk", expires_at=timezone.now() + dt.timedelta(hours=1),
        max_uses=5,
    )  # fmt: skip  # made before the readable alphabet: case-sensitive, as it was

    assert all(re.fullmatch(r"[A-HJKMNP-TW-Z2-9]{5}-[A-HJKMNP-TW-Z2-9]{5}", c) for c in codes)
    assert len(set(codes)) == 20
    typed = f" {codes[0][:5].lower()} {codes[0][6:].lower()} "  # spoken, typed in lower case
    assert services.league_join(user=fans[1], code=typed) == league
    assert services.league_join(user=fans[2], code=old.code) == league
    joined = token_client(fans[3]).post(
        "/api/v1/leagues/join/", {"code": old.code.upper()}, format="json"
    )
    assert joined.status_code == 404  # an old code keeps its case


def invite_to(league, owner, max_uses=5):
    return services.league_invite(
        league=league, by=owner, expires_in=dt.timedelta(hours=1), max_uses=max_uses
    )


def pub_with_a_member(fans):
    """fans[0]'s league "Pub", which fans[1] joined."""
    league = services.league_create(owner=fans[0], name="Pub")
    services.league_join(user=fans[1], code=invite_to(league, fans[0]).code)
    return league


def test_members_see_the_member_list_and_outsiders_do_not(fans):
    league = pub_with_a_member(fans)

    listed = token_client(fans[1]).get(f"/api/v1/leagues/{league.pk}/members/")
    outsider = token_client(fans[2]).get(f"/api/v1/leagues/{league.pk}/members/")

    assert listed.status_code == 200
    names = sorted((fans[0].username, fans[1].username))
    assert [m["username"] for m in listed.json()] == names
    assert [m["owner"] for m in listed.json() if m["user"] == fans[0].pk] == [True]
    assert outsider.status_code == 403
    assert token_client(fans[1]).get("/api/v1/leagues/999999/members/").status_code == 404


def test_owner_cannot_leave_member_can(fans):
    league = pub_with_a_member(fans)

    owner_leaves = token_client(fans[0]).post(f"/api/v1/leagues/{league.pk}/leave/")
    member_leaves = token_client(fans[1]).post(f"/api/v1/leagues/{league.pk}/leave/")

    assert owner_leaves.status_code == 409 and member_leaves.status_code == 204


def test_leaderboard_top_me_and_around(match, home, fans, api):
    from predictions.models import Kind

    for n, fan in enumerate(fans):
        predict(fan, match, Kind.SCORE, home_goals=n, away_goals=0)
    play(match, [(home, 10, None, "goal")])
    settle(match)

    anonymous = api.get("/api/v1/leaderboards/global/?n=2").json()
    mine = token_client(fans[2]).get("/api/v1/leaderboards/global/").json()
    per_match = api.get(f"/api/v1/leaderboards/match/{match.slug}/").json()

    # 1-0: fan2 exact (10); fan3 and fan4 right outcome (2 each, the lower id first); fan1 0.
    assert [e["name"] for e in anonymous["top"]] == ["fan2", "fan3"] and anonymous["me"] is None
    assert anonymous["size"] == 4
    assert mine["me"]["points"] == 2 and mine["me"]["rank"] == 2
    assert [e["rank"] for e in mine["around"]] == [1, 2, 3, 4]
    assert per_match["top"][0]["points"] == 10
    assert api.get("/api/v1/leaderboards/global/?n=500").status_code == 400


def test_a_match_states_the_rules_it_is_scored_by(knockout_match, api):
    from predictions.models import ScoringRules

    ScoringRules.objects.create(
        competition=knockout_match.competition, exact_score=12, stage_multipliers={"final": 3}
    )

    rules = api.get(f"/api/v1/matches/{knockout_match.slug}/rules/").json()

    assert (rules["exact_score"], rules["winner"], rules["multiplier"]) == (12, 3, 3)
    assert rules["penalties_decide_winner"] is True
    assert api.get("/api/v1/matches/no-such-match/rules/").status_code == 404
