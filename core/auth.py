"""API token lookups, cached briefly in each process.

Hot reads (leaderboards, live snapshots) are served from Redis; without this cache each one
would still cost a database query for its token, and a reconnect storm after a goal would
put one per socket on PostgreSQL at once. When the database blinks, an expired entry is
served rather than failing every signed-in fan at once (stale-if-error, up to STALE_SECONDS).

Revocation crosses processes through Redis: signing out, deleting a token and deactivating
a user append the token to a revocation log (a sorted set scored by Redis' clock in a Lua
script, so readers never miss an entry written late), and every process reads
the log's new entries at most REVOCATION_POLL_SECONDS apart before it trusts its cache. A
revoked token stops working on every process within about a second; while Redis is
unreachable the bound falls back to TOKEN_CACHE_SECONDS (docs/operations.md, "Sessions").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from core.caches import TTLCache
from core.redis import client

logger = logging.getLogger("livescore.auth")
TOKEN_CACHE_SECONDS = 30.0
STALE_SECONDS = 600.0  # how old a cached answer may be when the database is unreachable
REVOCATION_POLL_SECONDS = 1.0
REVOCATION_RETRY_SECONDS = 5.0  # after Redis failed to answer: the cache's bound applies
REVOKED_KEY, REVOKED_SEQ = "auth:revoked", "auth:revoked:last"
REVOKED_KEEP = 100_000  # entries kept: far more than a poll interval's sign-outs
_tokens: TTLCache[str, Token | None] = TTLCache(TOKEN_CACHE_SECONDS, max_entries=100_000)

# KEYS: the log, its last score. ARGV: keep, then the token keys. A score is Redis' clock
# in microseconds, kept above the last one written: scripts run one at a time, so a later
# revocation always scores higher, and after Redis restarts empty (or the log is flushed)
# the clock is still past every score a process has seen.
_REVOKE = """
local t = redis.call('TIME')
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
for i = 2, #ARGV do
  last = math.max(tonumber(t[1]) * 1000000 + tonumber(t[2]), last + 1)
  redis.call('ZADD', KEYS[1], last, ARGV[i])
end
redis.call('SET', KEYS[2], string.format('%.0f', last))
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[1]) - 1)
return 1
"""


class _Log:
    """This process's place in the revocation log."""

    seen: float | None = None  # the last score applied; None before the first read
    due = 0.0  # monotonic time of the next read


def _apply_revocations() -> None:
    now = time.monotonic()
    if now < _Log.due:
        return
    _Log.due = now + REVOCATION_POLL_SECONDS
    try:
        entries = _new_revocations()
    except RedisError as error:
        _Log.due = now + REVOCATION_RETRY_SECONDS
        logger.warning("revocation log unreadable, cached tokens trusted for now: %r", error)
        return
    for key, score in entries:
        _tokens.set(key.decode(), None)
        _Log.seen = max(_Log.seen or 0.0, score)


def _new_revocations() -> list[tuple[bytes, float]]:
    """The log's entries this process has not applied, in one round trip. A last score below
    what was seen means Redis lost the log (restarted empty): read what it holds now."""
    seen = _Log.seen
    pipe = client().pipeline(transaction=False)
    pipe.get(REVOKED_SEQ)
    pipe.zrangebyscore(REVOKED_KEY, f"({seen or 0}", "+inf", withscores=True)
    raw_seq, entries = pipe.execute()
    seq = float(raw_seq or 0)
    if seen is None:  # a new process: its cache is empty, nothing to forget
        _Log.seen = seq
        return []
    if seq < seen:
        _Log.seen = 0.0
        entries = client().zrangebyscore(REVOKED_KEY, "-inf", "+inf", withscores=True)
    return [(key, float(score)) for key, score in entries]


def token_lookup(key: str) -> Token | None:
    """The active user's token for `key` (user loaded), or None. Negative answers are cached
    too, so guessing tokens costs the database nothing extra."""
    if not key or len(key) > 64:
        return None
    _apply_revocations()
    found, token = _tokens.get(key)
    if found:
        return token
    try:
        token = Token.objects.select_related("user").filter(key=key, user__is_active=True).first()
    except (OperationalError, InterfaceError):
        found, token = _tokens.get(key, stale_for=STALE_SECONDS)
        if found:
            return token
        raise
    _tokens.set(key, token)
    return token


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication with the lookup cached (see module docstring)."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        token = token_lookup(key)
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        return token.user, token


def forget_tokens(keys: Iterable[str]) -> None:
    """Refuse these tokens in this process from now on (the revoking request's own)."""
    for key in keys:
        _tokens.set(key, None)


def revoke_tokens(keys: Iterable[str]) -> None:
    """Tokens that must stop working everywhere: refused at once in this process, within
    REVOCATION_POLL_SECONDS in the others (read by `_apply_revocations`)."""
    keys = list(keys)
    if not keys:
        return
    forget_tokens(keys)
    try:
        client().eval(_REVOKE, 2, REVOKED_KEY, REVOKED_SEQ, REVOKED_KEEP, *keys)
    except RedisError as error:  # the other processes' caches expire within their TTL
        logger.warning("revocation not broadcast (%r): other processes within %s s",
                       error, TOKEN_CACHE_SECONDS)  # fmt: skip
