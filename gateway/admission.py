"""Spike protection at the edge of a gateway process: admission of new sockets and
single-flight reads (docs/operations.md, "The goal moment").

- `Admission`: a token bucket on new sockets. A reconnect storm (30% of a stadium's sockets
  after a VAR decision) is spread out instead of queueing every handshake on one event
  loop: over the rate, a socket is closed at once with 4014 and `retry=<ms>` in the reason,
  the hint spread with jitter so the herd does not come back in step. Resumes are cheap
  (the Redis timeline), so a refused client loses nothing.
- `SingleFlight`: when many sockets ask for the same stored snapshot or the same timeline
  slice at once (the reconnect herd again), one Redis read serves them all.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from core import metrics

T = TypeVar("T")


class Admission:
    """Tokens refill at `rate` per second up to `burst`; each new socket takes one. While
    `busy()` (a goal is going out from this process) and a herd has spent half the burst,
    nobody is admitted: a goal's fan-out never shares the event loop with the herd's
    handshakes."""

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        busy: Callable[[], float] = lambda: 0.0,
    ):
        self.rate, self.burst, self.clock, self.busy = rate, burst, clock, busy
        self.tokens, self.at = float(burst), clock()

    def admit(self) -> int | None:
        """None when the socket is admitted; else the milliseconds to wait before retrying."""
        if self.rate <= 0:
            return None
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if (busy_for := self.busy()) > 0 and self.tokens < self.burst / 2:
            # Under a herd only (half the burst spent): a lone fan opening the app just
            # after a goal is let in.
            metrics.HANDSHAKES_REFUSED.inc()
            return math.ceil(busy_for * 1000) + random.randint(0, 1000)
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        metrics.HANDSHAKES_REFUSED.inc()
        # The refill time of one token, spread over up to a second more so that a refused
        # herd comes back over an interval, not at one instant.
        return math.ceil((1 - self.tokens) / self.rate * 1000) + random.randint(0, 1000)


class SingleFlight:
    """Concurrent calls with the same key share one call of the underlying read."""

    def __init__(self, what: str, enabled: bool = True) -> None:
        self.what, self.enabled = what, enabled
        self.calls: dict[Hashable, asyncio.Future[Any]] = {}

    async def do(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        if not self.enabled:
            return await read()
        running = self.calls.get(key)
        if running is not None:
            metrics.SHARED_READS.labels(self.what).inc()
            return await asyncio.shield(running)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.calls[key] = future
        try:
            result = await read()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self.calls[key]
