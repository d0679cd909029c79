"""API token lookups, cached briefly in each process.

Hot reads (leaderboards, live snapshots) are served from Redis; without this cache each one
would still cost a database query for its token, and a reconnect storm after a goal would
put one per socket on PostgreSQL at once. A revoked token or a deactivated user stops
working within TOKEN_CACHE_SECONDS. When the database blinks, an expired entry is served
rather than failing every signed-in fan at once (stale-if-error, up to STALE_SECONDS).
"""

from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from core.caches import TTLCache

TOKEN_CACHE_SECONDS = 30.0
STALE_SECONDS = 600.0  # how old a cached answer may be when the database is unreachable
_tokens: TTLCache[str, Token | None] = TTLCache(TOKEN_CACHE_SECONDS, max_entries=100_000)


def token_lookup(key: str) -> Token | None:
    """The active user's token for `key` (user loaded), or None. Negative answers are cached
    too, so guessing tokens costs the database nothing extra."""
    if not key or len(key) > 64:
        return None
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


def forget_token(key: str) -> None:
    """Drop a token from this process's cache (signed out here: refused at once here, and
    within TOKEN_CACHE_SECONDS in other processes)."""
    _tokens.set(key, None)
