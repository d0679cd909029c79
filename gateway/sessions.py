"""One socket per user and device: a newer socket evicts the older one, on any process.

`ws:sess:<user>:<device>` holds the owning gateway and socket; the evicting process tells
the owner over its control channel (or closes the socket itself when it owns it).
"""

from __future__ import annotations

import redis.asyncio as aioredis

SESSION_SECONDS = 86400
# Delete only if it is still ours: a newer socket may own the key already.
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end"


def _key(user_id: int, device: str) -> str:
    return f"ws:sess:{user_id}:{device}"


async def claim(
    redis: aioredis.Redis, gateway_id: str, conn_id: str, user_id: int, device: str
) -> tuple[str, str] | None:
    """Register this socket as the session; returns the (gateway id, socket id) evicted."""
    previous = await redis.set(
        _key(user_id, device), f"{gateway_id}|{conn_id}", ex=SESSION_SECONDS, get=True
    )
    if not isinstance(previous, bytes):
        return None
    owner, _, old_conn = previous.decode().partition("|")
    return owner, old_conn


async def release(
    redis: aioredis.Redis, gateway_id: str, conn_id: str, user_id: int, device: str
) -> None:
    await redis.eval(_RELEASE, 1, _key(user_id, device), f"{gateway_id}|{conn_id}")
