"""Which push subscriptions the server accepts (docs/notifications.md, "Devices").

The server will later POST to whatever endpoint a fan registered, so an endpoint is a
request the server makes on the fan's behalf: in production it must be https, on a known
push service (PUSH_ENDPOINT_HOSTS, by domain suffix), never an IP literal in a private,
loopback or link-local range. Local development and the test suite allow plain http on
loopback (PUSH_ALLOW_LOCAL_ENDPOINTS, on with DEBUG) for the local receiver.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings


def b64url_bytes(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def endpoint_problem(url: str) -> str | None:
    """Why this endpoint is refused, or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    local = settings.PUSH_ALLOW_LOCAL_ENDPOINTS
    if parts.scheme != "https" and not (local and parts.scheme == "http"):
        return "the endpoint must be an https URL"
    if not host or parts.username or parts.password:
        return "the endpoint must name a host and carry no credentials"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        if local and address.is_loopback:
            return None
        if not address.is_global:
            return "the endpoint may not be a private, loopback or reserved address"
        return None if not settings.PUSH_ENDPOINT_HOSTS else "the endpoint must be a push service"
    allowed = settings.PUSH_ENDPOINT_HOSTS
    if (local and host == "localhost") or not allowed:
        return None
    if any(host == suffix or host.endswith("." + suffix) for suffix in allowed):
        return None
    return "the endpoint is not on a known push service"


def p256dh_problem(value: str) -> str | None:
    raw = b64url_bytes(value)
    if raw is None or len(raw) != 65 or raw[0] != 4:
        return "p256dh must be an uncompressed P-256 public key, base64url (65 bytes)"
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        return "p256dh is not a point on P-256"
    return None


def auth_problem(value: str) -> str | None:
    raw = b64url_bytes(value)
    if raw is None or len(raw) != 16:
        return "auth must be a 16-byte secret, base64url"
    return None
