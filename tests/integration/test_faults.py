"""Fault injection against real processes: what the feed accepted (202) survives a worker
killed while holding its message and a Redis crash with wake-ups queued, and is applied in
order within seconds (docs/operations.md, "What survives what")."""

import psycopg
import pytest

from matches.models import Match
from tests.feedclient import feed_event
from tests.integration.conftest import (
    RedisServer,
    db_dsn,
    start_server,
    start_worker,
    wait_until,
)
from tests.integration.test_live_pipeline import post_events

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# Reconciler period (2 s) + its age threshold (2 s) + a worker's start, with room to spare
# on a loaded 2-core machine.
APPLIED_WITHIN = 30


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def env(stack_env, own_redis) -> dict[str, str]:
    """The stack on a Redis server of this test's own: broker, live state and cache."""
    return {**stack_env, "REDIS_URL": own_redis.url, "CELERY_BROKER_URL": own_redis.url}


@pytest.fixture
def web(env, tmp_path):
    server = start_server("uvicorn", env, tmp_path)
    yield server
    server.process.stop()


def score(match: Match) -> tuple[int, int]:
    match.refresh_from_db()
    return match.home_score, match.away_score


def test_events_held_by_a_killed_worker_are_applied_within_seconds(match, env, web, tmp_path):
    with (
        psycopg.connect(db_dsn()) as blocker,
        psycopg.connect(db_dsn(), autocommit=True) as watcher,
    ):
        # Lock the match so the worker's drain blocks while it holds the (unacked) message.
        # NO KEY UPDATE: the feed's inserts (foreign-key checks) still pass; the services'
        # FOR UPDATE waits.
        blocker.execute("SELECT id FROM matches_match WHERE id = %s FOR NO KEY UPDATE", [match.pk])
        victim = start_worker(env, tmp_path / "victim.log")
        try:
            events = [
                feed_event(match, 1, "status", status="first_half"),
                feed_event(match, 2, "goal", team="ARG", minute=9),
            ]
            assert post_events(web, *events) == 202
            wait_until(
                lambda: watcher.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE %s",
                    ["%matches_%"],
                ).fetchone(),
                what="the drain to block on the match lock",
            )
        finally:
            victim.kill_all()
        blocker.rollback()
    assert score(match) == (0, 0)

    # The killed worker's message now waits for the broker's visibility timeout (an hour);
    # the reconciler must not.
    rescuer = start_worker(env, tmp_path / "rescuer.log", beat=True)
    try:
        wait_until(lambda: score(match) == (1, 0), APPLIED_WITHIN, "the goal to be applied")
    finally:
        rescuer.stop()


def test_accepted_events_survive_a_redis_crash(match, env, own_redis, web, tmp_path):
    # No worker yet: the wake-ups wait in Redis, and Redis is lost with them.
    first = [
        feed_event(match, 1, "status", status="first_half"),
        feed_event(match, 2, "goal", team="ARG", minute=9),
    ]
    assert post_events(web, *first) == 202
    own_redis.crash()

    # With the broker down the feed still accepts: the events are stored in PostgreSQL.
    assert post_events(web, feed_event(match, 3, "goal", team="FRA", minute=30)) == 202

    own_redis.start()
    worker = start_worker(env, tmp_path / "worker.log", beat=True)
    try:
        wait_until(lambda: score(match) == (1, 1), APPLIED_WITHIN, "both goals to be applied")
    finally:
        worker.stop()
    assert list(match.events.values_list("seq", flat=True)) == [1, 2, 3]
