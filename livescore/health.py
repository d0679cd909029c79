"""Liveness and readiness probes for load balancers and orchestrators.

`/readyz` names each dependency with "ok" or the reason it is not: PostgreSQL, Redis, the
Celery broker, and the backlog of the latency-sensitive queues (a worker pool that stopped
taking goals is a reason to page, not to serve stale scores silently)."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

import celeryconfig

# Waiting messages above which a latency-sensitive queue makes this instance not ready.
BACKLOG_LIMITS = {"events": 1000, "realtime": 5000}


def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def ready(request: HttpRequest) -> JsonResponse:
    backlog, queues = _queues()
    checks = {"database": _database(), "redis": _redis(), "broker": backlog}
    ok = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ok else "unavailable", **checks, "queues": queues}
    return JsonResponse(body, status=200 if ok else 503)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
        return f"unreachable: {type(exc).__name__}"


def _redis() -> str:
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
        return "ok"
    except redis.RedisError as exc:
        return f"unreachable: {type(exc).__name__}"


def _queues() -> tuple[str, dict[str, int]]:
    """The broker's state and each queue's waiting messages (Redis lists)."""
    try:
        broker = redis.Redis.from_url(celeryconfig.broker_url, socket_timeout=1)
        pipe = broker.pipeline(transaction=False)
        names = [q.name for q in celeryconfig.task_queues]
        for name in names:
            pipe.llen(name)
        lengths = dict(zip(names, pipe.execute(), strict=True))
    except redis.RedisError as exc:
        return f"unreachable: {type(exc).__name__}", {}
    over = [
        f"{q} has {lengths[q]} waiting"
        for q, limit in BACKLOG_LIMITS.items()
        if lengths.get(q, 0) > limit
    ]
    return ("backlog: " + ", ".join(over)) if over else "ok", lengths
