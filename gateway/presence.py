"""How many sockets watch a match, across gateway processes: each process writes its own
count per match channel every PRESENCE_INTERVAL seconds, with an expiry, and readers sum."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

import redis.asyncio as aioredis

from realtime.channels import presence_key

PRESENCE_INTERVAL = 5.0


async def write_loop(
    redis: aioredis.Redis, gateway_id: str, counts: Callable[[], Iterable[tuple[str, int]]]
) -> None:
    """For ever: write `counts()` ((match slug, local sockets) pairs) every interval."""
    while True:
        await asyncio.sleep(PRESENCE_INTERVAL)
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
