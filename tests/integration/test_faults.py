"""Fault injection against real processes: what the feed accepted (202) survives a worker
killed while holding its message and a Redis crash with wake-ups queued, and is applied in
order within seconds (docs/operations.md, "What survives what")."""

import json
import urllib.error
import urllib.request

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from matches.models import FeedEvent, Match
from tests.feedclient import feed_event, signed_headers
from tests.integration.conftest import (
    RedisServer,
    TcpProxy,
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
    return {
        **stack_env,
        "REDIS_URL": own_redis.url,
        "CELERY_BROKER_URL": own_redis.url,
        "DATABASE_POOL_TIMEOUT": "2",  # an unreachable database answers 503 within seconds
    }


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


def http(server, path: str, method: str = "GET", token: str | None = None, body=None):
    """(status, headers, JSON body or None) without raising on 4xx/5xx."""
    request = urllib.request.Request(server.url + path, method=method, data=body)
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            return error.code, error.headers, json.loads(payload)
        except ValueError:
            return error.code, error.headers, payload


@pytest.fixture
def fan_token(transactional_db) -> str:
    user = User.objects.create_user("blinking-fan")
    return Token.objects.create(user=user).key


def test_postgres_down_answers_503_with_retry_after_then_recovers(match, env, fan_token, tmp_path):
    db = settings.DATABASES["default"]
    proxy = TcpProxy(int(db["PORT"]))
    proxied = f"postgres://{db['USER']}@127.0.0.1:{proxy.port}/{db['NAME']}"
    web = start_server("uvicorn", {**env, "DATABASE_URL": proxied}, tmp_path)
    live = f"/api/v1/matches/{match.slug}/live/"
    try:
        assert http(web, "/api/v1/matches/")[0] == 200
        assert http(web, live)[0] == 200  # the snapshot is in Redis from now on
        assert http(web, "/api/v1/me/predictions/", token=fan_token)[0] == 200

        proxy.cut()
        down = {
            "list": http(web, "/api/v1/matches/"),
            "detail": http(web, f"/api/v1/matches/{match.slug}/"),
            "mine": http(web, "/api/v1/me/predictions/", token=fan_token),
            "feed": _post_feed(web, match),
            "ready": http(web, "/readyz"),
        }
        served = http(web, live)
        proxy.restore()
        back = wait_until(lambda: http(web, "/api/v1/matches/")[0] == 200, 30, "the API to recover")
    finally:
        proxy.cut()
        web.process.stop()

    for name in ("list", "detail", "mine", "feed"):
        status, headers, body = down[name]
        assert status == 503, (name, status, body)
        assert int(headers["Retry-After"]) > 0 and body["code"] == "unavailable", name
    assert down["ready"][0] == 503
    assert served[0] == 200 and served[2]["t"] == "snap"  # Redis serves the live read
    assert back
    assert not FeedEvent.objects.exists()  # the 503 batch was not half-stored


def _post_feed(server, match):
    body = json.dumps({"events": [feed_event(match, 1, "status", status="first_half")]})
    headers = {k[5:].replace("_", "-").title(): v for k, v in signed_headers(body.encode()).items()}
    request = urllib.request.Request(
        server.url + "/api/v1/feed/events",
        data=body.encode(),
        method="POST",
        headers={**headers, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def test_redis_paused_serves_live_reads_from_postgres_and_503s_the_rest(
    match, env, own_redis, web, fan_token
):
    live = f"/api/v1/matches/{match.slug}/live/"
    own_redis.pause()
    try:
        served = http(web, live)
        board = http(web, "/api/v1/leaderboards/global/")
        listed = http(web, "/api/v1/matches/")
    finally:
        own_redis.resume()
    after = wait_until(lambda: http(web, live)[0] == 200, 30, "live reads after the pause")

    assert served[0] == 200 and served[2]["t"] == "snap" and served[2]["seq"] == match.seq
    assert board[0] == 503 and int(board[1]["Retry-After"]) > 0
    assert listed[0] == 200  # rate limits fail open; PostgreSQL serves the list
    assert after
