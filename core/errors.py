"""Errors shared by the apps, the REST API and the WebSocket gateway."""

import redis
from django.db import InterfaceError, OperationalError

# What a store that is down, paused or out of pooled connections raises: answered 503 on
# REST and with an `unavailable` error frame on the socket, never a 500 or a crash.
# (psycopg's PoolTimeout reaches Django as an OperationalError.)
REDIS_UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError)
UNAVAILABLE = (OperationalError, InterfaceError, *REDIS_UNAVAILABLE)


def store_of(exc: Exception) -> str:
    """Which store an UNAVAILABLE error came from: "redis" or "database"."""
    return "redis" if isinstance(exc, redis.RedisError) else "database"


class TemporarilyUnavailable(Exception):
    """A read that cannot be answered right now but will be shortly (answered 503 with
    Retry-After); `retry_after` is in seconds."""

    retry_after = 5


class DomainError(Exception):
    """A request breaks a domain rule; the message is safe to show to the user. The API
    answers `status` with {"detail": message, "code": code} (core/api.py), so the apps'
    errors need no handler of their own and core imports none of them."""

    status = 400
    code = "rule"
    # More fields of the answer (e.g. a mute's end), and for a time-based refusal the
    # seconds before a retry can succeed (sent as Retry-After too).
    extra: dict[str, object] = {}
    retry_after: float | None = None

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
