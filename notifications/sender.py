"""The async sender: one keep-alive HTTP client per worker process, bounded concurrency,
a backend-wide token bucket, a circuit breaker, and claims that make a push once.

A chunk task hands its devices to `send`; this runs them through the process's own event
loop and aiohttp session, which live as long as the process, so connections to a push
service are reused across chunks (never one connection per push).

Batches of PUSH_CONCURRENCY devices: the next batch is encrypted while the previous one is
on the network. Before a batch goes out it takes its tokens from the backend's bucket in
Redis (PUSH_RATE per backend, shared by every worker: the provider's quota is the whole
system's) and claims its devices in the notice's claim hash (`HSETNX`: a device already
claimed, by an earlier attempt or another worker, is skipped). After the answers the claims
become `o` (accepted), `g` (gone: the device is deleted), `f` (refused for good), or are
released for a later attempt (429, 5xx, network errors).

A worker killed while a batch is on the network leaves its claims `i`: the next attempt
treats them as sent. Those requests were written before the worker waited for answers, so
the fans have them; the price is that one written in the instant before the kill and lost
on the wire is not sent again (at most once for the in-flight few; docs/notifications.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

import aiohttp
from django.conf import settings

from core import metrics
from core.redis import client
from notifications.backends import Backend, Message, Outcome, Request, Target, backends

logger = logging.getLogger("livescore.notifications")
CLAIMS_TTL = 6 * 3600  # a correction after VAR reads the claims of the goal it corrects

# KEYS: bucket hash. ARGV: rate per second, burst, tokens wanted.
# Returns {tokens granted, seconds until the next token} (the second as a string).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 60)
return {granted, tostring((1 - (tokens - math.floor(tokens))) / rate)}
"""


@dataclass
class Report:
    """What happened to a chunk's devices in one attempt."""

    sent: int = 0
    skipped: int = 0  # claimed before: sent by an earlier attempt or another worker
    failed: int = 0
    retry: int = 0  # to send again later
    retry_after: float = 0.0  # the longest Retry-After asked for
    breaker: float = 0.0  # seconds a backend stays switched off
    gone: list[int] = field(default_factory=list)  # device ids to delete
    accepted: list[int] = field(default_factory=list)  # device ids


def claims_key(notice_id: int) -> str:
    return f"push:n:{notice_id}"


def _breaker_key(backend: str) -> str:
    return f"push:open:{backend}"


class Sender:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.session: aiohttp.ClientSession | None = None
        self.failures: dict[str, int] = defaultdict(int)  # consecutive, per backend
        self.redis = client()
        self.take = self.redis.register_script(_TAKE)

    def send(
        self, notice_id: int, targets: Sequence[Target], message: Callable[[Target], Message]
    ) -> Report:
        return self.loop.run_until_complete(self._send(claims_key(notice_id), targets, message))

    async def _send(
        self, key: str, targets: Sequence[Target], message: Callable[[Target], Message]
    ) -> Report:
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=settings.PUSH_CONCURRENCY, keepalive_timeout=60
                ),
                timeout=aiohttp.ClientTimeout(total=settings.PUSH_TIMEOUT),
            )
        report = Report()
        by_backend: dict[str, list[Target]] = defaultdict(list)
        for target in targets:
            by_backend[target.backend].append(target)
        for name, group in by_backend.items():
            backend = backends().get(name)
            if backend is None:
                report.failed += len(group)
                logger.error("no %s backend configured: %s devices skipped", name, len(group))
                continue
            await self._send_backend(backend, key, group, message, report)
        return report

    async def _send_backend(
        self,
        backend: Backend,
        key: str,
        group: list[Target],
        message: Callable[[Target], Message],
        report: Report,
    ) -> None:
        size = settings.PUSH_CONCURRENCY
        in_flight: asyncio.Future[list[tuple[Target, Outcome]]] | None = None
        for start in range(0, len(group), size):
            if (off := self.redis.ttl(_breaker_key(backend.name))) > 0:
                report.retry += len(group) - start
                report.breaker = float(off)
                break
            batch = [(t, backend.request(t, message(t))) for t in group[start : start + size]]
            if in_flight is not None:
                self._record(backend.name, key, await in_flight, report)
            await self._tokens(backend.name, len(batch))
            claimed = self._claim(key, batch, report)
            in_flight = asyncio.ensure_future(self._post_all(backend, claimed))
        if in_flight is not None:
            self._record(backend.name, key, await in_flight, report)

    async def _tokens(self, backend: str, wanted: int) -> None:
        rate = settings.PUSH_RATE
        while wanted > 0:
            granted, wait = self.take(keys=[f"push:bucket:{backend}"], args=[rate, rate, wanted])
            wanted -= int(granted)
            if wanted > 0:
                await asyncio.sleep(float(wait))

    def _claim(
        self, key: str, batch: list[tuple[Target, Request]], report: Report
    ) -> list[tuple[Target, Request]]:
        pipe = self.redis.pipeline(transaction=False)
        for target, _ in batch:
            pipe.hsetnx(key, str(target.pk), "i")
        pipe.expire(key, CLAIMS_TTL)
        won = pipe.execute()[:-1]
        claimed = [item for item, ok in zip(batch, won, strict=True) if ok]
        report.skipped += len(batch) - len(claimed)
        return claimed

    async def _post_all(
        self, backend: Backend, batch: list[tuple[Target, Request]]
    ) -> list[tuple[Target, Outcome]]:
        outcomes = await asyncio.gather(*(self._post(backend, request) for _, request in batch))
        return [(target, outcome) for (target, _), outcome in zip(batch, outcomes, strict=True)]

    async def _post(self, backend: Backend, request: Request) -> Outcome:
        assert self.session is not None
        try:
            async with self.session.post(
                request.url, data=request.body, headers=request.headers
            ) as r:
                return backend.outcome(r.status, r.headers, await r.read())
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            logger.warning("push to %s failed: %r", backend.name, error)
            return Outcome("retry", 0)

    def _record(
        self, backend: str, key: str, results: list[tuple[Target, Outcome]], report: Report
    ) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for target, outcome in results:
            field_ = str(target.pk)
            metrics.PUSHES.labels(backend, outcome.verdict).inc()
            if outcome.verdict == "ok":
                report.sent += 1
                report.accepted.append(target.pk)
                pipe.hset(key, field_, "o")
            elif outcome.verdict == "gone":
                report.gone.append(target.pk)
                pipe.hset(key, field_, "g")
            elif outcome.verdict == "failed":
                report.failed += 1
                pipe.hset(key, field_, "f")
                logger.warning(
                    "push refused for good: device=%s status=%s", target.pk, outcome.status
                )
            else:
                report.retry += 1
                report.retry_after = max(report.retry_after, outcome.retry_after or 0.0)
                pipe.hdel(key, field_)
            self._breaker(backend, outcome, report)
        pipe.execute()

    def _breaker(self, backend: str, outcome: Outcome, report: Report) -> None:
        """Consecutive server failures (5xx, no answer) switch the backend off for every
        worker for PUSH_BREAKER_SECONDS; it comes back by itself when the key expires."""
        if outcome.verdict == "retry" and outcome.status != 429:
            self.failures[backend] += 1
            if self.failures[backend] >= settings.PUSH_BREAKER_FAILURES:
                self.failures[backend] = 0
                seconds = settings.PUSH_BREAKER_SECONDS
                if self.redis.set(_breaker_key(backend), "1", ex=seconds, nx=True):
                    metrics.PUSH_BREAKER.labels(backend).inc()
                    logger.error("push backend %s switched off for %s s", backend, seconds)
                report.breaker = float(seconds)
        elif outcome.verdict in ("ok", "gone"):
            self.failures[backend] = 0


@cache
def sender() -> Sender:
    """This process's sender (created after a prefork worker forks, on first use)."""
    return Sender()
