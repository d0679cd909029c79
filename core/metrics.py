"""Prometheus metrics: every process of the system (web and gateway servers, Celery workers)
counts into files under PROMETHEUS_MULTIPROC_DIR, and `/metrics` on any web process adds
them up (prometheus_client's multiprocess mode; the scripts create and empty the directory
at start). Without that variable (in-process tests, one-off commands) metrics stay in the
process. docs/operations.md ("Match night") explains each metric and what to do about it.

Counted where the work is done, per batch rather than per socket on hot paths: a goal to
10,000 local sockets is one `inc(10000)`.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# METRICS_ENABLED=0 swaps every metric for one that records nothing: the baseline of the
# instrumentation-overhead benchmark (bench/fanout.py, variant livescore-uvicorn-nometrics).
ENABLED = os.environ.get("METRICS_ENABLED", "1") != "0"


class _Off:
    """A metric that records nothing."""

    def labels(self, *args: object, **kwargs: object) -> _Off:
        return self

    def inc(self, *args: object) -> None:
        pass

    dec = set = observe = inc


def _metric(kind: Any, *args: Any, **kwargs: Any) -> Any:
    return kind(*args, **kwargs) if ENABLED else _Off()


# Seconds: a goal's stages are milliseconds when healthy, seconds when something is wrong.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# ---- the provider feed and the goal's way to the fans -----------------------------------------

FEED_EVENTS = _metric(
    Counter,
    "livescore_feed_events_total",
    "Provider feed events: received, then applied, duplicate, stale or rejected (with reason)",
    ["outcome", "reason"],
)
GOAL_STAGE = _metric(
    Histogram,
    "livescore_goal_stage_seconds",
    "A goal's time from feed receipt to: committed (its transaction), published (Redis), "
    "and fanout: from the gateway's receipt to the last local socket written",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)

CLIENT_LATENCY = _metric(
    Histogram,
    "livescore_client_latency_seconds",
    "What fans' clients measured: the gateway writing a match frame -> the client receiving "
    "it (kind goal: goal frames; event: every other match frame)",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)
CLIENT_REPORTS = _metric(
    Counter,
    "livescore_client_reports_total",
    "Client latency reports: recorded, unknown (a frame this process did not write recently, "
    "or reported again) or implausible (negative, or over a minute: a resume after an absence)",
    ["outcome"],
)

# ---- the WebSocket gateway --------------------------------------------------------------------

SOCKETS = _metric(Gauge, "livescore_ws_sockets", "Open sockets", multiprocess_mode="livesum")
SUBSCRIPTIONS = _metric(
    Gauge,
    "livescore_ws_subscriptions", "Subscriptions by channel kind", ["kind"],
    multiprocess_mode="livesum",
)  # fmt: skip
QUEUED = _metric(
    Gauge,
    "livescore_ws_queued_frames", "Frames waiting for slow sockets (sampled every 5 s)",
    multiprocess_mode="livesum",
)  # fmt: skip
TASKS = _metric(
    Gauge,
    "livescore_ws_tasks", "asyncio tasks in the gateway processes (sampled every 5 s): a leak "
    "shows as growth after sockets close",
    multiprocess_mode="livesum",
)  # fmt: skip
FRAMES_SENT = _metric(Counter, "livescore_ws_frames_total", "Frames written to sockets", ["kind"])
FRAMES_DROPPED = _metric(
    Counter,
    "livescore_ws_frames_dropped_total",
    "Best-effort frames not sent: chat over a socket's budget or queue",
    ["reason"],
)
CARD_RENDERS = _metric(
    Counter, "livescore_card_renders_total", "Share card images drawn, by format", ["format"]
)
CLOSES = _metric(
    Counter, "livescore_ws_closes_total", "Sockets closed by the server, by close code", ["code"]
)
COALESCED = _metric(
    Counter,
    "livescore_ws_coalesced_frames_total",
    "Frames written to a socket that fell behind together with others, in one message",
)
REPLACED = _metric(
    Counter,
    "livescore_ws_replaced_frames_total",
    "Waiting frames replaced by a newer one of the same channel (tops, standings)",
    ["type"],
)
HANDSHAKES_REFUSED = _metric(
    Counter,
    "livescore_ws_handshakes_refused_total",
    "New sockets turned away by admission control (4014, retry later)",
)
SHARED_READS = _metric(
    Counter,
    "livescore_gateway_shared_reads_total",
    "Redis reads a socket did not make: an identical one in flight served it",
    ["what"],
)

# ---- chat ---------------------------------------------------------------------------------------

CHAT_POSTS = _metric(
    Counter,
    "livescore_chat_posts_total", "Chat posts: accepted, again (repeated cid) or the refusal code",
    ["outcome"],
)  # fmt: skip

# ---- push notifications -------------------------------------------------------------------------

PUSHES = _metric(
    Counter,
    "livescore_push_total",
    "Pushes by backend and verdict: ok, gone (device pruned), retry (429, 5xx, network), failed",
    ["backend", "outcome"],
)
PUSH_PRUNED = _metric(Counter, "livescore_push_pruned_total", "Devices deleted: gone (404/410)")
PUSH_HELD_BACK = _metric(
    Counter,
    "livescore_push_held_back_total",
    "Pushes not sent by a fan's rule: quiet hours, or into a digest",
    ["reason"],
)
PUSH_BREAKER = _metric(
    Counter,
    "livescore_push_breaker_open_total",
    "Backends switched off by the breaker",
    ["backend"],
)
PUSH_NOTICE_SECONDS = _metric(
    Histogram,
    "livescore_push_notice_seconds",
    "A notice's send time (after its hold window) -> its last chunk finished",
    ["kind"],
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)

# ---- settlement and tasks ---------------------------------------------------------------------

SETTLEMENT_RUNS = _metric(Counter, "livescore_settlement_runs_total", "Settlement runs finished")
SETTLEMENT_CHUNK = _metric(
    Histogram,
    "livescore_settlement_chunk_seconds", "One settlement chunk, scoring and boards",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)  # fmt: skip
SETTLEMENT_LAG = _metric(
    Histogram,
    "livescore_settlement_lag_seconds",
    "Full time (or a correction) -> every chunk settled and every board written",
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)
PROVISIONAL_SECONDS = _metric(
    Histogram,
    "livescore_provisional_seconds",
    "One pass of provisional standings: every provisional board and personal frame out",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
RECONCILED = _metric(
    Counter, "livescore_reconciler_requeues_total", "Work re-queued by a reconciler", ["what"]
)
TASK_PROBLEMS = _metric(
    Counter,
    "livescore_task_problems_total",
    "Celery task failures and retries",
    ["queue", "task", "kind"],
)
STORE_ERRORS = _metric(
    Counter,
    "livescore_store_errors_total", "PostgreSQL or Redis unreachable, answered 503 or unavailable",
    ["store"],
)  # fmt: skip


# ---- /metrics -------------------------------------------------------------------------------


def metrics(request: HttpRequest) -> HttpResponse:
    """The exposition, for a scraper holding METRICS_TOKEN (`Authorization: Bearer ...`).
    Without a token configured it answers only loopback requests in DEBUG (the local demo)."""
    if not _allowed(request):
        response = HttpResponse("a bearer token is required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    return settings.DEBUG and request.META.get("REMOTE_ADDR") in ("127.0.0.1", "::1")


def _registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
