"""Settlement across real processes: the feed's full time settles on real workers, fans get
their points over the WebSocket, and a worker killed mid-chunk is finished by the reconciler."""

import asyncio

import psycopg
import pytest
from celery import Celery
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from core.redis import client as redis_client
from matches.models import MatchStatus
from matches.services import match_change_status, match_record_goal
from predictions import leaderboard, settlement
from predictions.models import Kind, SettlementChunk, SettlementRun, UserScore
from tests.feedclient import feed_event
from tests.integration.conftest import db_dsn, start_worker, wait_until
from tests.integration.test_live_pipeline import post_events
from tests.integration.wsclient import Fan
from tests.predictions.helpers import predict

CHUNK_TASK = "predictions.tasks.settle_chunk_task"
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_full_time_from_the_feed_settles_and_tells_each_fan(server, match):
    fan = User.objects.create_user("winner")
    token = Token.objects.create(user=fan).key
    predict(fan, match, Kind.SCORE, home_goals=1, away_goals=0)
    predict(fan, match, Kind.WINNER, outcome="H")

    async def scenario():
        client = await Fan.connect(f"{server.ws_url}?token={token}", origin=None)
        await client.recv()  # auth
        await client.send({"op": "sub", "ch": f"user:{fan.pk}"})
        await client.recv()  # ok
        events = [
            feed_event(match, 1, "status", status="first_half"),
            feed_event(match, 2, "goal", team="ARG", minute=9),
            feed_event(match, 3, "status", status="half_time", minute=45),
            feed_event(match, 4, "status", status="second_half", minute=45),
            feed_event(match, 5, "status", status="finished", minute=90),
        ]
        assert post_events(server, *events) == 202
        frames = await client.recv_until(lambda f: f.get("t") == "points", timeout=60)
        await client.close()
        return [f for f in frames if f.get("t") == "prov"], frames[-1]

    live, points = asyncio.run(scenario())

    # While live: "if it ended now" after the goal (1-0: exact score and winner).
    assert {"m": match.slug, "pts": 13, "tot": 13, "rank": 1, "mv": 0} in [f["d"] for f in live]

    assert points == {
        "ch": f"user:{fan.pk}",
        "t": "points",
        "d": {"m": match.slug, "pts": 13, "tot": 13, "rank": 1},
    }
    assert UserScore.objects.get(user=fan).points == 13
    assert leaderboard.check_all() == []
    # Settled: the provisional boards are gone, the settled ones serve.
    wait_until(lambda: not redis_client().exists(leaderboard.provisional_key(leaderboard.GLOBAL)))


def test_a_worker_killed_mid_chunk_is_finished_by_the_reconciler(match, home, stack_env, tmp_path):
    fans = [User.objects.create_user(f"f{n}") for n in range(3)]
    for fan in fans:
        predict(fan, match, Kind.SCORE, home_goals=1, away_goals=0)
    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    match_record_goal(match=match, team=home, minute=5)
    match_change_status(match=match, status=MatchStatus.HALF_TIME, minute=45)
    match_change_status(match=match, status=MatchStatus.SECOND_HALF, minute=45)
    # Full time without the after-commit trigger: this test drives the run by hand.
    from matches import effects

    with effects.suppressed():
        match_change_status(match=match, status=MatchStatus.FINISHED, minute=90)
    _, (chunk_id,) = settlement.settlement_begin(match_id=match.pk)

    broker = settings.REDIS_URL.rsplit("/", 1)[0] + "/3"
    env = {**stack_env, "CELERY_BROKER_URL": broker}
    sender = Celery(broker=broker, set_as_current=False)
    # pg_stat_activity is read once per transaction: watch it from an autocommit connection.
    with (
        psycopg.connect(db_dsn()) as blocker,
        psycopg.connect(db_dsn(), autocommit=True) as watcher,
    ):
        # Hold the predictions so the worker's chunk blocks inside its transaction.
        blocker.execute(
            "SELECT id FROM predictions_prediction WHERE match_id = %s FOR UPDATE", [match.pk]
        )
        victim = start_worker(env, tmp_path / "victim.log", "settlement")
        try:
            sender.send_task(
                "predictions.tasks.settle_chunk_task", args=[chunk_id], queue="settlement"
            )
            wait_until(
                lambda: watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE %s",
                    ["%predictions_prediction%"],
                ).fetchone(),
                what="the chunk to block on the row lock",
            )
        finally:
            victim.kill_all()  # also when the wait failed: no worker outlives the test
        blocker.rollback()

    assert SettlementChunk.objects.get(pk=chunk_id).state == "pending"  # rolled back
    assert UserScore.objects.count() == 0
    rescuer = start_worker(env, tmp_path / "rescuer.log", "settlement")
    try:
        import datetime as dt

        for stale in settlement.settlement_stale_chunks(older_than=dt.timedelta(0)):
            sender.send_task(
                "predictions.tasks.settle_chunk_task", args=[stale], queue="settlement"
            )
        wait_until(
            lambda: SettlementRun.objects.filter(match=match, finished_at__isnull=False).exists(),
            what="the reconciled run to finish",
        )
    finally:
        rescuer.stop()

    assert dict(UserScore.objects.values_list("user_id", "points")) == {f.pk: 10 for f in fans}
    assert leaderboard.check_all() == []
