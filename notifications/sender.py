"""The async sender: one keep-alive HTTP client per worker process, bounded concurrency,
a backend-wide token bucket, a circuit breaker, and claims that make a push once.

A chunk task hands its devices to `send`; this runs them through the process's own event
loop and aiohttp session, which live as long as the process, so connections to a push
service are reused across chunks (never one connection per push).

Batches of BATCH devices, with up to PUSH_CONCURRENCY requests on the network: the next
batch is encrypted while the earlier ones wait for their answers. Before a batch goes out
it takes its tokens from the backend's bucket in Redis (PUSH_RATE per backend, shared by
every worker: the provider's quota is the whole system's) and claims its devices in the
notice's claim hash (`HSETNX`: a device already claimed, by an earlier attempt or another
worker, is skipped). After the answers the claims become `o` (accepted), `g` (gone: the
device is deleted), `f` (refused for good), or are released for a later attempt (429,
5xx, network errors).

A worker killed while a batch is on the network leaves its claims `i`: the next attempt
treats them as sent. Those requests were written before the worker waited for answers, so
the fans have them; the price is that one written in the instant before the kill and lost
on the wire is not sent again (at most once for the in-flight few; docs/notifications.md).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import ssl
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache

import aiohttp
from django.conf import settings

from core import metrics
from core.redis import client
from notifications.backends import Backend, Message, Outcome, Request, Target, backends
from notifications.endpoints import SafeResolver, UnsafeAddress

logger = logging.getLogger("livescore.notifications")
CLAIMS_TTL = 6 * 3600
# Devices encrypted, claimed and sent together; PUSH_CONCURRENCY / BATCH batches are on the
# network at once (the connection pool holds PUSH_CONCURRENCY, so a claimed request never
# waits for a connection).
BATCH = 64  # a correction after VAR reads the claims of the goal it corrects

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

    def close(self) -> None:
        """Close the keep-alive connections (at process exit)."""
        if self.session is not None and not self.session.closed:
            self.loop.run_until_complete(self.session.close())

    def send(
        self, notice_id: int, targets: Sequence[Target], message: Callable[[Target], Message]
    ) -> Report:
        return self.loop.run_until_complete(self._send(claims_key(notice_id), targets, message))

    async def _send(
        self, key: str, targets: Sequence[Target], message: Callable[[Target], Message]
    ) -> Report:
        if self.session is None or self.session.closed:
            self.session = _session()
        report = Report()
        by_backend: dict[str, list[Target]] = defaultdict(list)
        for target in self._unclaimed(key, targets, report):
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
        size = min(BATCH, settings.PUSH_CONCURRENCY)
        window = max(1, settings.PUSH_CONCURRENCY // size)  # batches on the network at once
        in_flight: deque[asyncio.Future[list[tuple[Target, Outcome]]]] = deque()
        for start in range(0, len(group), size):
            if (off := self.redis.ttl(_breaker_key(backend.name))) > 0:
                report.retry += len(group) - start
                report.breaker = float(off)
                break
            batch = [(t, backend.request(t, message(t))) for t in group[start : start + size]]
            while len(in_flight) >= window:
                self._record(backend.name, key, await in_flight.popleft(), report)
            await self._tokens(backend.name, len(batch))
            claimed = self._claim(key, batch, report)
            in_flight.append(asyncio.ensure_future(self._post_all(backend, claimed)))
        while in_flight:
            self._record(backend.name, key, await in_flight.popleft(), report)

    def _unclaimed(self, key: str, targets: Sequence[Target], report: Report) -> list[Target]:
        """The devices no attempt has claimed yet: a retried chunk encrypts only those."""
        left: list[Target] = []
        for start in range(0, len(targets), 2000):
            part = targets[start : start + 2000]
            claims = self.redis.hmget(key, [str(t.pk) for t in part])
            left += [t for t, claim in zip(part, claims, strict=True) if claim is None]
        report.skipped += len(targets) - len(left)
        return left

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
        except aiohttp.ClientConnectorError as error:
            if isinstance(error.os_error, UnsafeAddress):
                # The name now points inside: refused for good, never retried.
                logger.warning("push refused: %s", error.os_error)
                return Outcome("failed", 0)
            logger.warning("push to %s failed: %r", backend.name, error)
            return Outcome("retry", 0)
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            logger.warning("push to %s failed: %r", backend.name, error)
            return Outcome("retry", 0)

    def _record(
        self, backend: str, key: str, results: list[tuple[Target, Outcome]], report: Report
    ) -> None:
        pipe = self.redis.pipeline(transaction=False)
        verdicts: Counter[str] = Counter()
        for target, outcome in results:
            field_ = str(target.pk)
            verdicts[outcome.verdict] += 1
            if outcome.verdict == "ok":
                report.sent += 1
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
        for verdict, count in verdicts.items():  # counted per batch, not per push
            metrics.PUSHES.labels(backend, verdict).inc(count)

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


def _session() -> aiohttp.ClientSession:
    """The process's HTTP client: keep-alive connections (at most PUSH_CONCURRENCY), TLS
    verified against the system's CAs (or PUSH_CA_FILE), every resolved address checked
    (SafeResolver), no cookies."""
    ssl_context = ssl.create_default_context(cafile=settings.PUSH_CA_FILE or None)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            limit=settings.PUSH_CONCURRENCY,
            keepalive_timeout=60,
            ssl=ssl_context,
            resolver=SafeResolver(),
        ),
        timeout=aiohttp.ClientTimeout(total=settings.PUSH_TIMEOUT),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    )


@cache
def sender() -> Sender:
    """This process's sender (created after a prefork worker forks, on first use)."""
    created = Sender()
    atexit.register(created.close)
    return created
