"""How many sockets watch a match, across gateway processes: each process writes its own
count per match channel every PRESENCE_INTERVAL seconds, with an expiry, and readers sum."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

import redis.asyncio as aioredis

from realtime.channels import presence_key

PRESENCE_INTERVAL = 5.0
BUSY_RETRY = 0.1


async def write_loop(
    redis: aioredis.Redis,
    gateway_id: str,
    counts: Callable[[], Iterable[tuple[str, int]]],
    busy: Callable[[], bool] = lambda: False,
) -> None:
    """For ever: write `counts()` ((match slug, local sockets) pairs) every interval. While
    `busy()` (a goal's fan-out under way) the write waits, up to one more interval: counts
    are read only in snapshots and expire after three intervals, so it costs nothing."""
    while True:
        await asyncio.sleep(PRESENCE_INTERVAL)
        waited = 0.0
        while busy() and waited < PRESENCE_INTERVAL:
            await asyncio.sleep(BUSY_RETRY)
            waited += BUSY_RETRY
        with contextlib.suppress(Exception):
            await write(redis, gateway_id, counts())


async def write(redis: aioredis.Redis, gateway_id: str, counts: Iterable[tuple[str, int]]) -> None:
    pipe = redis.pipeline(transaction=False)
    for slug, sockets in counts:
        key = presence_key(slug)
        pipe.hset(key, gateway_id, sockets)
        pipe.expire(key, int(PRESENCE_INTERVAL * 3))
    await pipe.execute()


async def watching(redis: aioredis.Redis, slug: str) -> int:
    counts = await redis.hvals(presence_key(slug))
    return sum(int(c) for c in counts)
