"""Provisional standings: equal to what settlement would give if the match ended now."""

import random

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from core.redis import client as redis_client
from matches import feed, simulator
from matches.models import EventKind, Match, MatchStatus
from matches.services import match_change_status, match_record_goal, match_set_possession
from matches.worldcup import worldcup_load
from predictions import leaderboard, provisional, settlement
from predictions.models import Joker, Kind, LeagueMember, ScoringRules, UserScore
from predictions.services import league_create
from tests.factories import make_player
from tests.predictions.conftest import settle
from tests.predictions.helpers import predict


def board(scope: str) -> dict[int, int]:
    rows = redis_client().zrange(leaderboard.provisional_key(scope), 0, -1, withscores=True)
    return {int(m): leaderboard.decode(s) for m, s in rows}


def if_it_ended_now(match: Match) -> dict[int, int]:
    """Each fan's points on the match by the settlement statement's own SQL expression, at
    the match's current state."""
    match.refresh_from_db()
    return settlement.points_now(match)


def random_predictions(match: Match, fans: list[User], seed: int = 7) -> None:
    rng = random.Random(seed)
    players = list(match.home.players.all()[:6]) + list(match.away.players.all()[:6])
    for fan in fans:
        predict(fan, match, Kind.SCORE, home_goals=rng.randint(0, 4), away_goals=rng.randint(0, 4))
        predict(fan, match, Kind.WINNER, outcome=rng.choice("HDA"))
        if rng.random() < 0.15:
            predict(fan, match, Kind.FIRST_SCORER, no_goal=True)
        else:
            predict(fan, match, Kind.FIRST_SCORER, player=rng.choice(players))
        predict(fan, match, Kind.POSSESSION, band=rng.randint(1, 4))


@pytest.fixture
def replayed_final(db):
    """The 2022 final as a fresh match with 60 fans' predictions, and its provider plan with
    the VAR-disallowed goal, a re-sent event and two swapped ones."""
    worldcup_load(year=2022)
    source = Match.objects.get(slug="arg-vs-fra-2022-12-18")
    replay = simulator.replay_create(source=source, lead_seconds=600)
    fans = [User.objects.create_user(f"prov{n}") for n in range(60)]
    # The whole game: the final counts three times, right picks earn up to 6 for rarity, and
    # every third fan plays their joker on it.
    ScoringRules.objects.create(
        competition=replay.competition, rarity_bonus=6, stage_multipliers={"final": 3}
    )
    Joker.objects.bulk_create(Joker(user=f, match=replay, stage=replay.stage) for f in fans[::3])
    # A settled past: fans start from different totals, so ranks are not all ties.
    UserScore.objects.bulk_create(
        UserScore(user=f, points=3 * (n % 7), version=1) for n, f in enumerate(fans)
    )
    leaderboard.rebuild_all()
    random_predictions(replay, fans)
    plan = simulator.add_chaos(
        simulator.replay_plan(source=source, replay=replay), home_code=replay.home.code
    )
    return replay, fans, plan


def apply(match: Match, event: dict) -> None:
    for match_id in feed.feed_store(provider="demo", events=[dict(event)]):
        feed.feed_drain(provider="demo", match_id=match_id)


@pytest.mark.django_db
def test_provisional_equals_settlement_at_every_state_of_the_replayed_final(replayed_final):
    match, _, plan = replayed_final
    settled = dict(UserScore.objects.values_list("user_id", "points"))
    boards_before_var: dict[int, int] | None = None
    checked = 0

    for number, planned in enumerate(plan):
        if planned.event.get("id", "").endswith("-var"):
            boards_before_var = board(leaderboard.match_scope(match.slug))
        apply(match, planned.event)
        if number == len(plan) // 2:
            match_set_possession(match=match, home_possession=54)  # a band starts to count
        match.refresh_from_db()
        if match.status == MatchStatus.SCHEDULED:
            continue
        provisional.provisional_changed(match.pk)

        expected = if_it_ended_now(match)
        assert board(leaderboard.match_scope(match.slug)) == expected, planned.event
        assert board(leaderboard.GLOBAL) == {u: settled.get(u, 0) + p for u, p in expected.items()}
        checked += 1
        if planned.event.get("kind") == "goal_disallowed":
            # VAR's reversal rolls the phantom goal's points back exactly.
            assert board(leaderboard.match_scope(match.slug)) == boards_before_var

    assert match.status == MatchStatus.FINISHED and checked > 20
    assert settlement.bonuses(match)  # the rarity bonus took part
    last, last_global = board(leaderboard.match_scope(match.slug)), board(leaderboard.GLOBAL)
    settle(match)
    assert leaderboard.all_points(leaderboard.match_scope(match.slug)) == last
    assert leaderboard.all_points(leaderboard.GLOBAL) == last_global
    # Settlement completed: the settled figures replace the provisional ones.
    provisional.provisional_changed(match.pk)
    assert not redis_client().exists(leaderboard.provisional_key(leaderboard.GLOBAL))
    assert not redis_client().exists(
        leaderboard.provisional_key(leaderboard.match_scope(match.slug))
    )


@pytest.fixture
def live(match, home, away, fans):
    """ARG v FRA kicked off; fan1 predicts 1-0, fan2 0-1, fan3 a home win, fan4 Messi first."""
    messi = make_player(home, "Lionel Messi")
    predict(fans[0], match, Kind.SCORE, home_goals=1, away_goals=0)
    predict(fans[1], match, Kind.SCORE, home_goals=0, away_goals=1)
    predict(fans[2], match, Kind.WINNER, outcome="H")
    predict(fans[3], match, Kind.FIRST_SCORER, player=messi)
    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    provisional.provisional_changed(match.pk)
    return match, messi


@pytest.mark.django_db
def test_a_goal_sends_each_moved_fan_one_prov_frame(live, fans, home, capture_frames):
    match, messi = live
    match_record_goal(match=match, team=home, minute=10, player=messi)

    with capture_frames() as sent:
        provisional.provisional_changed(match.pk)

    frames: dict[int, list[dict]] = {}
    for frame in sent:
        if frame.channel.startswith("user:"):
            frames.setdefault(int(frame.channel.split(":")[1]), []).append({"d": frame.d})
    # 0-0 (all on 0, ranked by user id) -> 1-0: fan1 exact (10), fan4 first scorer (5), fan3
    # winner (3), fan2 still 0. Fan1 and fan3 keep their rank and gain points; each moved
    # fan gets exactly one frame.
    by_fan = {fan: [f["d"] for f in fs] for fan, fs in frames.items()}
    slug = match.slug
    assert by_fan == {
        fans[0].pk: [{"m": slug, "pts": 10, "tot": 10, "rank": 1, "mv": 0}],
        fans[1].pk: [{"m": slug, "pts": 0, "tot": 0, "rank": 4, "mv": -2}],
        fans[2].pk: [{"m": slug, "pts": 3, "tot": 3, "rank": 3, "mv": 0}],
        fans[3].pk: [{"m": slug, "pts": 5, "tot": 5, "rank": 2, "mv": 2}],
    }


@pytest.mark.django_db
def test_changes_during_a_pass_are_coalesced_into_the_next(live, fans, home):
    match, messi = live
    redis_client().set(provisional.LOCK_KEY, "another worker")

    match_record_goal(match=match, team=home, minute=10, player=messi)
    assert provisional.provisional_changed(match.pk) == 0  # the holder will do it
    match_record_goal(match=match, team=home, minute=20, player=messi)
    assert provisional.provisional_changed(match.pk) == 0
    redis_client().delete(provisional.LOCK_KEY)
    assert provisional.provisional_changed(match.pk) == 1  # one pass, at the latest state

    assert board(leaderboard.match_scope(match.slug)) == {
        fans[0].pk: 2,  # 1-0 predicted at 2-0: the right outcome
        fans[1].pk: 0,
        fans[2].pk: 3,
        fans[3].pk: 5,
    }


@pytest.mark.django_db
def test_rest_marks_provisional_boards_and_serves_leagues_from_them(live, fans, home):
    match, messi = live
    league = league_create(owner=fans[3], name="Office")
    LeagueMember.objects.create(league=league, user=fans[1])
    match_record_goal(match=match, team=home, minute=10, player=messi)
    provisional.provisional_changed(match.pk)
    api = APIClient()
    api.force_authenticate(fans[3])

    live_board = api.get("/api/v1/leaderboards/global/?n=3").json()
    settled = api.get("/api/v1/leaderboards/global/?settled=true").json()
    mine = api.get(f"/api/v1/leaderboards/league/{league.pk}/").json()

    assert live_board["provisional"] is True
    assert [(e["user_id"], e["points"]) for e in live_board["top"]] == [
        (fans[0].pk, 10),
        (fans[3].pk, 5),
        (fans[2].pk, 3),
    ]
    assert live_board["me"]["rank"] == 2
    assert settled["provisional"] is False and settled["me"] is None
    assert mine["provisional"] is True
    assert [(e["user_id"], e["points"]) for e in mine["top"]] == [(fans[3].pk, 5), (fans[1].pk, 0)]
    assert api.get("/api/v1/leaderboards/global/?settled=maybe").status_code == 400


@pytest.mark.django_db
def test_an_abandoned_match_leaves_the_provisional_standings(live, fans, home):
    match, messi = live
    match_record_goal(match=match, team=home, minute=10, player=messi)
    provisional.provisional_changed(match.pk)
    assert board(leaderboard.GLOBAL)

    match_change_status(match=match, status=MatchStatus.ABANDONED)
    provisional.provisional_changed(match.pk)

    assert not redis_client().exists(leaderboard.provisional_key(leaderboard.GLOBAL))
    assert redis_client().hlen(provisional.MATCHES_KEY) == 0
    assert EventKind.STATUS in set(match.events.values_list("kind", flat=True))
