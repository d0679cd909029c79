"""Who is on a socket: origin policy and API tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings

from core.auth import token_lookup


def header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def origin_allowed(origin: str, host: str | None = None) -> bool:
    """Browsers must come from an allowed origin (WS_ALLOWED_ORIGINS), or from this server
    itself: the web client served at / opens its socket on the host that served it. A page
    elsewhere (the cross-site case the check is for) has another origin than our Host."""
    allowed = settings.WS_ALLOWED_ORIGINS
    origin = origin.rstrip("/")
    if "*" in allowed or origin in allowed:
        return True
    return host is not None and urlsplit(origin).netloc == host


@database_sync_to_async
def user_for_token(key: str) -> int | None:
    """The user id behind an API token (cached: see core.auth)."""
    token = token_lookup(key)
    return token.user_id if token else None
