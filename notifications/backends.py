"""Delivery backends behind one small interface: `request` builds the HTTP request for one
device (the CPU work: encryption, signing), `outcome` reads the push service's answer.

The sender (notifications/sender.py) owns the connections, concurrency, quotas, retries and
the circuit breaker, so a new backend (APNs, say) is one class here and a setting.

- WebPush: RFC 8030 with payloads encrypted per RFC 8291 (aes128gcm, by pywebpush and
  http_ece) and VAPID (RFC 8292, py_vapid). A VAPID token is signed once per push service
  origin and reused for 12 hours: the per-push cost is the encryption alone.
- HttpApi: a JSON message shaped like the large mobile push services' HTTP APIs (token,
  collapse key, TTL, priority, data) with an OAuth-style bearer token, for a mini-app
  platform or an FCM-like gateway (PUSH_HTTP_URL, PUSH_HTTP_TOKEN).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Literal, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from py_vapid import Vapid02
from pywebpush import WebPusher

Verdict = Literal["ok", "gone", "retry", "failed"]
VAPID_LIFETIME = 12 * 3600  # RFC 8292 allows at most 24 h


@dataclass(frozen=True, slots=True)
class Target:
    """One device, as the sender needs it."""

    pk: int
    user_id: int
    backend: str
    endpoint: str = ""
    p256dh: str = ""
    auth: str = ""
    token: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """What one notice sends: the same payload for every device (digests excepted)."""

    payload: bytes  # JSON, docs/notifications.md
    ttl: int
    urgency: str
    topic: str  # collapse key: one per match, a newer push replaces an older one


@dataclass(frozen=True, slots=True)
class Request:
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    status: int = 0
    retry_after: float | None = None  # seconds, from the service's Retry-After


class Backend(Protocol):
    name: str

    def request(self, target: Target, message: Message) -> Request: ...

    def outcome(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome: ...


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    value = headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _common(status: int, headers: Mapping[str, str]) -> Outcome:
    if status == 429 or status >= 500:
        return Outcome("retry", status, retry_after(headers))
    if status in (404, 410):
        return Outcome("gone", status)
    return Outcome("failed", status)  # 400, 403 (VAPID), 413: sending again will not help


class WebPush:
    name = "webpush"

    def __init__(self, private_key: str, subject: str) -> None:
        self.vapid = Vapid02.from_raw(private_key.encode())
        self.subject = subject
        self._tokens: dict[str, tuple[float, str]] = {}  # audience -> (expiry, header)

    def authorization(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._tokens.get(audience)
        if cached is None or cached[0] - now < 3600:
            expiry = now + VAPID_LIFETIME
            claims = {"aud": audience, "exp": int(expiry), "sub": self.subject}
            cached = (expiry, self.vapid.sign(claims)["Authorization"])
            self._tokens[audience] = cached
        return cached[1]

    def request(self, target: Target, message: Message) -> Request:
        subscription = {
            "endpoint": target.endpoint,
            "keys": {"p256dh": target.p256dh, "auth": target.auth},
        }
        # pywebpush's encoder: a fresh key pair per message, aes128gcm (RFC 8291, RFC 8188)
        body = WebPusher(subscription).encode(message.payload, "aes128gcm")["body"]
        headers = {
            "TTL": str(message.ttl),
            "Urgency": message.urgency,
            "Topic": message.topic,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "Authorization": self.authorization(target.endpoint),
        }
        return Request(target.endpoint, headers, body)

    def outcome(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        return Outcome("ok", status) if 200 <= status < 300 else _common(status, headers)


class HttpApi:
    name = "http"

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def request(self, target: Target, message: Message) -> Request:
        high = message.urgency == "high"
        body = {
            "message": {
                "token": target.token,
                "collapse_key": message.topic,
                "ttl": message.ttl,
                "priority": "high" if high else "normal",
                "data": json.loads(message.payload),
            }
        }
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return Request(self.url, headers, json.dumps(body, separators=(",", ":")).encode())

    def outcome(self, status: int, headers: Mapping[str, str], body: bytes) -> Outcome:
        if 200 <= status < 300:
            return Outcome("ok", status)
        if status == 400 and b"UNREGISTERED" in body[:500]:
            return Outcome("gone", status)  # the service's "this token no longer exists"
        return _common(status, headers)


@cache
def backends() -> dict[str, Backend]:
    """The configured backends by name (a device of an unconfigured backend is skipped)."""
    found: dict[str, Backend] = {}
    if settings.VAPID_PRIVATE_KEY:
        found["webpush"] = WebPush(settings.VAPID_PRIVATE_KEY, settings.VAPID_SUBJECT)
    if settings.PUSH_HTTP_URL:
        found["http"] = HttpApi(settings.PUSH_HTTP_URL, settings.PUSH_HTTP_TOKEN)
    return found
