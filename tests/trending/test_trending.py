"""Trending: the excitement formula, and the board from live matches' Redis state."""

import time

import pytest
from rest_framework.test import APIClient

from chat import live as chat_live
from chat.services import room_for_match
from core.redis import client as redis_client
from matches import live
from matches.models import MatchStatus
from matches.services import match_change_status, match_disallow_goal, match_record_goal
from realtime.channels import presence_key
from tests.factories import make_team
from trending.excitement import Signals, excitement
from trending.live import trending_refresh


def test_a_level_game_late_with_a_recent_goal_beats_a_bigger_crowd_at_a_blowout():
    drama = Signals(watchers=2_000, chat_per_second=5, score=(2, 2), minute=88, goal_minutes=[85])
    blowout = Signals(watchers=20_000, chat_per_second=5, score=(4, 0), minute=88)
    early = Signals(watchers=2_000, chat_per_second=5, score=(2, 2), minute=30)

    assert excitement(drama) > excitement(blowout)
    assert excitement(drama) > excitement(early)  # the same game, early: less drama
    # A goal ten minutes ago still counts; eleven minutes ago it no longer does.
    assert excitement(Signals(0, 0, (1, 0), 60, goal_minutes=[50])) > excitement(
        Signals(0, 0, (1, 0), 60, goal_minutes=[49])
    )
    assert excitement(Signals(0, 0, (1, 1), 60, var_minutes=[58])) > excitement(
        Signals(0, 0, (1, 1), 60)
    )


@pytest.fixture
def clean_redis(db):
    redis_client().flushdb()


@pytest.mark.django_db
def test_live_matches_are_ranked_served_and_pushed_when_the_order_changes(
    clean_redis, make_match, home, away, capture_frames
):
    quiet = make_match(day=20)
    busy = make_match(day=21, home=make_team("BRA"), away=make_team("GER"))
    for match in (quiet, busy):
        match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    phantom = match_record_goal(match=busy, team=busy.home, minute=3).event
    match_disallow_goal(match=busy, goal=phantom)
    for match in (quiet, busy):
        live.match_rebuild(match)  # the live state the publisher keeps (no commit in tests)
    redis_client().hset(presence_key(busy.slug), "gw1", 300)
    redis_client().hset(presence_key(quiet.slug), "gw1", 1000)
    room = room_for_match(busy.pk).pk
    for second in range(int(time.time()) - 4, int(time.time())):
        redis_client().set(chat_live.rate_key(room, second), 40)
    with capture_frames() as sent:
        order = trending_refresh()
        again = trending_refresh()  # nothing changed: nothing published

    assert order == again == [busy.slug, quiet.slug]  # chat and VAR beat a bigger crowd
    frames = [{"ch": f.channel, "t": f.t, "d": f.d} for f in sent]
    assert len(frames) == 1 and frames[0]["ch"] == "trending" and frames[0]["t"] == "trend"
    assert [m["slug"] for m in frames[0]["d"]["m"]] == [busy.slug, quiet.slug]
    response = APIClient().get("/api/v1/trending/")
    assert response.status_code == 200 and response["Cache-Control"] == "public, max-age=5"
    body = response.json()
    assert [row["slug"] for row in body] == [busy.slug, quiet.slug]
    assert body[0]["h"] == "BRA" and body[0]["w"] == 300 and body[0]["s"] == [0, 0]
