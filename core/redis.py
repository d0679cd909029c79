"""Redis connections: the one way to get one.

Redis is split by role (docs/scaling.md): matches' live state and channels over the
REDIS_LIVE_URLS shards, leaderboards on REDIS_LEADERBOARD_URL, the rest on REDIS_URL; all
three default to one server. Everything in Redis is derived state (docs/operations.md); a
store that is down or paused must turn into a 503 or a fallback to PostgreSQL within a
second or two, never hold a request thread, hence the short timeouts.
"""

from __future__ import annotations

import zlib
from functools import cache

import redis
import redis.asyncio as aioredis
import redis.asyncio.retry
import redis.retry
from django.conf import settings
from redis.backoff import ExponentialBackoff

# A connection broken by a restarted server fails its next command once; that command is
# retried on a fresh connection (3 times, 50-500 ms apart) instead of failing the request or
# the gateway's recovery. Timeouts are not retried: a paused server must fail fast.
_RETRY_ON = (redis.ConnectionError,)


def _backoff() -> ExponentialBackoff:
    return ExponentialBackoff(cap=0.5, base=0.05)


def client(url: str | None = None) -> redis.Redis:
    """The process's synchronous client of a Redis server (REDIS_URL unless `url`); it is
    thread-safe and its pool is shared."""
    return _client_of(url or settings.REDIS_URL)


@cache
def _client_of(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=2,
        socket_connect_timeout=1,
        health_check_interval=30,
        retry=redis.retry.Retry(_backoff(), 3, supported_errors=_RETRY_ON),
    )


def board_client() -> redis.Redis:
    """The leaderboards' server (REDIS_LEADERBOARD_URL): boards, provisional standings."""
    return client(settings.REDIS_LEADERBOARD_URL)


def live_shard(slug: str) -> int:
    """Which of REDIS_LIVE_URLS holds a match's live state and carries its channel: CRC32
    of the slug, modulo the number of shards. Stable across processes and restarts; a new
    shard count moves matches, whose state `manage.py rebuild_live_state` then recreates
    (all of it is derived from PostgreSQL)."""
    return zlib.crc32(slug.encode()) % len(settings.REDIS_LIVE_URLS)


def live_url(slug: str) -> str:
    """The URL of the shard holding a match's live state and carrying its channel."""
    return settings.REDIS_LIVE_URLS[live_shard(slug)]


def live_client(slug: str) -> redis.Redis:
    """The server holding a match's live state and carrying its pub/sub channel."""
    return client(live_url(slug))


def live_clients() -> list[redis.Redis]:
    """Every live-state shard, each once (the live index is kept per shard)."""
    return [client(url) for url in dict.fromkeys(settings.REDIS_LIVE_URLS)]


def async_client(max_connections: int = 64, url: str | None = None) -> aioredis.Redis:
    """A new asyncio client for one event loop (a gateway process's hub). A connect storm
    queues for a connection instead of failing: the default pool raises past its size."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url or settings.REDIS_URL,
        max_connections=max_connections,
        timeout=20,
        socket_connect_timeout=2,
        retry=redis.asyncio.retry.Retry(_backoff(), 3, supported_errors=_RETRY_ON),
    )
    return aioredis.Redis(connection_pool=pool)
