"""Redis connections: the one way to get one.

Everything in Redis is derived state (docs/operations.md); a store that is down or paused
must turn into a 503 or a fallback to PostgreSQL within a second or two, never hold a
request thread, hence the short timeouts.
"""

from __future__ import annotations

from functools import cache

import redis
import redis.asyncio as aioredis
from django.conf import settings


@cache
def client() -> redis.Redis:
    """The process's synchronous client (thread-safe; its pool is shared)."""
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1, health_check_interval=30
    )


def async_client(max_connections: int = 64) -> aioredis.Redis:
    """A new asyncio client for one event loop (a gateway process's hub). A connect storm
    queues for a connection instead of failing: the default pool raises past its size."""
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.REDIS_URL, max_connections=max_connections, timeout=20
    )
    return aioredis.Redis(connection_pool=pool)


def publish_packed(messages: list[tuple[bytes, bytes]], batch: int = 10_000) -> None:
    """PUBLISH many (channel, message) pairs, encoded here straight to the wire protocol.

    For the few producers that publish hundreds of thousands of small messages at once
    (provisional standings after a goal): redis-py's pipeline spends ~6 µs of Python per
    command building it, five times what Redis needs to serve it. Replies are read and
    discarded (the number of receivers)."""
    pool = client().connection_pool
    connection = pool.get_connection()
    try:
        for start in range(0, len(messages), batch):
            part = messages[start : start + batch]
            packed = b"".join(
                b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"
                % (len(channel), channel, len(message), message)
                for channel, message in part
            )
            connection.send_packed_command([packed])
            for _ in part:
                connection.read_response()
    except BaseException:
        # A half-read reply stream must never go back to the pool.
        connection.disconnect()
        raise
    finally:
        pool.release(connection)
