"""Who is on a socket: origin policy and API tokens."""

from __future__ import annotations

import time
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from rest_framework.authtoken.models import Token

_TOKEN_CACHE_SECONDS = 60.0
_token_cache: dict[str, tuple[float, int | None]] = {}


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def origin_allowed(origin: str) -> bool:
    """Browsers must come from an allowed origin (WS_ALLOWED_ORIGINS)."""
    allowed = settings.WS_ALLOWED_ORIGINS
    return "*" in allowed or origin.rstrip("/") in allowed


@database_sync_to_async
def _lookup(key: str) -> int | None:
    return (
        Token.objects.filter(key=key, user__is_active=True)
        .values_list("user_id", flat=True)
        .first()
    )


async def user_for_token(key: str) -> int | None:
    """The user id behind an API token, cached briefly: a reconnect storm after a goal would
    otherwise put one database query per socket on PostgreSQL at once."""
    if not key or len(key) > 64:
        return None
    now = time.monotonic()
    cached = _token_cache.get(key)
    if cached and cached[0] > now:
        return cached[1]
    user_id = await _lookup(key)
    if len(_token_cache) > 100_000:
        _token_cache.clear()
    _token_cache[key] = (now + _TOKEN_CACHE_SECONDS, user_id)
    return user_id
