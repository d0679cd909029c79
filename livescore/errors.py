"""Errors shared by the REST API and the WebSocket gateway."""

import redis
from django.db import InterfaceError, OperationalError

# What a store that is down, paused or out of pooled connections raises: answered 503 on
# REST and with an `unavailable` error frame on the socket, never a 500 or a crash.
# (psycopg's PoolTimeout reaches Django as an OperationalError.)
UNAVAILABLE = (OperationalError, InterfaceError, redis.ConnectionError, redis.TimeoutError)


class TemporarilyUnavailable(Exception):
    """A read that cannot be answered right now but will be shortly (answered 503 with
    Retry-After); `retry_after` is in seconds."""

    retry_after = 5
