"""API rate limits (docs/operations.md, "Rate limits"): per IP for anonymous clients, per
user for signed-in ones, tighter for writes and league joins, per provider for the feed.

Counters live in the Redis cache. When Redis is unreachable the limits fail open: a read
that PostgreSQL can serve must not become a 503 because its counter cannot be kept.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from core.errors import UNAVAILABLE

logger = logging.getLogger("livescore.api")


class _FailOpen:
    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except UNAVAILABLE:
            logger.warning("rate limit not checked: cache unavailable")
            return True


class AnonThrottle(_FailOpen, AnonRateThrottle):
    """Anonymous requests, per client IP."""


class UserThrottle(_FailOpen, UserRateThrottle):
    """Signed-in requests, per user."""


class WriteThrottle(_FailOpen, UserRateThrottle):
    """Unsafe methods (POST, PUT, PATCH, DELETE), per user (per IP when anonymous)."""

    scope = "writes"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class LeagueJoinThrottle(_FailOpen, UserRateThrottle):
    """Joining leagues by code, per user: invite codes must not be guessable by brute force."""

    scope = "league_join"


class FeedThrottle(_FailOpen, SimpleRateThrottle):
    """Feed requests per provider. Checked after the signature, so a forged request cannot
    spend a real provider's allowance."""

    scope = "feed"

    def __init__(self, provider: str) -> None:
        super().__init__()
        self.provider = provider

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.provider}


class SignUpThrottle(_FailOpen, AnonRateThrottle):
    """New accounts per client address (a script filling the database with fans)."""

    scope = "signup"


class LoginThrottle(_FailOpen, AnonRateThrottle):
    """Sign-in attempts per client address (password guessing)."""

    scope = "login"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST":
            return True
        return super().allow_request(request, view)
