"""Helpers to speak to the signed provider feed as a provider would."""

import time
from typing import Any

from django.conf import settings

from matches.feed import feed_sign


def feed_event(match, seq: int, kind: str, id_: str | None = None, **fields: Any) -> dict:
    return {
        "id": id_ or f"{match.slug}-{seq}",
        "seq": seq,
        "match": match.slug,
        "kind": kind,
        **fields,
    }


def signed_headers(body: bytes, provider: str = "demo", timestamp: int | None = None) -> dict:
    """Django test-client style headers (HTTP_...)."""
    ts = int(time.time()) if timestamp is None else timestamp
    secret = settings.FEED_PROVIDERS[provider]
    return {
        "HTTP_X_LIVESCORE_PROVIDER": provider,
        "HTTP_X_LIVESCORE_TIMESTAMP": str(ts),
        "HTTP_X_LIVESCORE_SIGNATURE": feed_sign(secret=secret, timestamp=ts, body=body),
    }
