"""Database connections under the production ASGI settings: a burst of concurrent clients
on one web process stays within its connection pool and gets no errors (under ASGI each
request runs in its own thread; persistent connections grew to one per thread)."""

import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from django.conf import settings

from tests.integration.conftest import db_dsn, start_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
APP = "livescore-concurrency-test"
CLIENTS = 150


def test_a_burst_of_clients_stays_within_the_pool(stack_env, match, tmp_path):
    env = {**stack_env, "DATABASE_APPLICATION_NAME": APP, "THROTTLE_ANON": "1000000/min"}
    web = start_server("uvicorn", env, tmp_path)
    # One request first: the process's first one pays for its lazy start (URL resolver,
    # serializers, the pool's first connection). The burst measures the steady state.
    with urllib.request.urlopen(web.url + "/api/v1/matches/", timeout=60) as response:
        assert response.status == 200
    peak, done = [0], threading.Event()

    def sample() -> None:
        with psycopg.connect(db_dsn(), autocommit=True) as watcher:
            while not done.is_set():
                (count,) = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APP]
                ).fetchone()
                peak[0] = max(peak[0], count)
                done.wait(0.02)

    def get(_: int) -> int:
        try:
            with urllib.request.urlopen(web.url + "/api/v1/matches/", timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = list(pool.map(get, range(CLIENTS * 4)))
    finally:
        done.set()
        sampler.join()
        web.process.stop()

    assert statuses == [200] * (CLIENTS * 4)
    assert 1 <= peak[0] <= settings.DATABASE_POOL_MAX_SIZE
