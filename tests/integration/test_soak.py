"""The short soak (bench/soak.py, 2 minutes here): socket churn with polite closes, resets,
half-open clients and chat, REST reads, and the final replayed; afterwards the server's
sockets, asyncio tasks and file descriptors are back where they were."""

from __future__ import annotations

import pytest

from bench.soak import soak
from bench.stack import LocalStack
from matches.worldcup import worldcup_load
from tests.integration.conftest import METRICS_TOKEN, start_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
IDLE_TIMEOUT = 8  # stack_env's WS_IDLE_TIMEOUT: half-open sockets are reaped after it


def test_two_minutes_of_churn_leave_no_sockets_tasks_or_descriptors_behind(
    stack_env, celery_worker, tmp_path
):
    worldcup_load(year=2022)
    server = start_server("uvicorn", stack_env, tmp_path)  # its own: nothing else on it
    stack = LocalStack(tmp_path, stack_env)
    stack.port, stack.procs = server.port, [server.process.handle]
    try:
        report = soak(stack, minutes=2, clients=30, idle_timeout=IDLE_TIMEOUT,
                      metrics_token=METRICS_TOKEN, replay_speed=120)  # fmt: skip
    finally:
        server.process.stop()

    assert report["visits"] > 200 and report["failed"] < report["visits"] * 0.05, report["errors"]
    assert all(report["endings"][e] > 0 for e in ("close", "reset", "half-open", "chat"))
    assert report["sockets"][1] > 0  # the churn was seen by the gateway
    assert report["leaks"] == [], report
