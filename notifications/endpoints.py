"""Which push subscriptions the server accepts (docs/notifications.md, "Devices").

The server will later POST to whatever endpoint a fan registered, so an endpoint is a
request the server makes on the fan's behalf: in production it must be https, on a known
push service (PUSH_ENDPOINT_HOSTS, by domain suffix), never an IP literal in a private,
loopback or link-local range. Local development and the test suite allow plain http on
loopback (PUSH_ALLOW_LOCAL_ENDPOINTS, on with DEBUG) for the local receiver.

A name is checked twice: at registration (special-use names such as `localhost`,
`*.internal` are refused; the host is read by the WHATWG URL rules, so `0x7f.1` is the IP
address it is), and again each time the sender opens a connection (`SafeResolver`): DNS
can change after registration, and a public name may resolve to a private address.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket

import ada_url
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

# Names that never mean a public push service: RFC 6761 (localhost, invalid, test,
# example), RFC 6762 (local), RFC 7686 (onion), RFC 8375 (home.arpa), ICANN's private-use
# `internal` (metadata.google.internal), and the common private zones.
SPECIAL_USE = (
    "localhost", "invalid", "test", "example", "local", "onion", "home.arpa", "internal",
    "localdomain", "lan", "intranet", "corp", "private",
)  # fmt: skip


class UnsafeAddress(OSError):
    """The endpoint's host resolves to no public address: the push is refused for good."""


def b64url_bytes(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def endpoint_problem(url: str) -> str | None:
    """Why this endpoint is refused, or None."""
    try:
        parts = ada_url.URL(url)
    except ValueError:
        return "the endpoint must be an https URL"
    scheme, host = parts.protocol.rstrip(":"), parts.hostname.lower().rstrip(".")
    local = settings.PUSH_ALLOW_LOCAL_ENDPOINTS
    if scheme != "https" and not (local and scheme == "http"):
        return "the endpoint must be an https URL"
    if not host or parts.username or parts.password:
        return "the endpoint must name a host and carry no credentials"
    address = _address(host)
    if address is not None:
        if address_problem(address):
            return "the endpoint may not be a private, loopback or reserved address"
        if local and _loopback(address):
            return None  # the local receiver (the demo's, the tests'): no push service list
        return None if not settings.PUSH_ENDPOINT_HOSTS else "the endpoint must be a push service"
    if local and host == "localhost":
        return None
    if "." not in host or _special(host):
        return "the endpoint may not be a local or internal name"
    allowed = settings.PUSH_ENDPOINT_HOSTS
    if not allowed or any(host == suffix or host.endswith("." + suffix) for suffix in allowed):
        return None
    return "the endpoint is not on a known push service"


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _special(host: str) -> bool:
    return any(host == name or host.endswith("." + name) for name in SPECIAL_USE)


def _loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for an address the server must not push to: anything not globally routable
    (private, loopback, link-local, reserved, shared, IPv4-mapped private) and multicast;
    loopback is allowed with PUSH_ALLOW_LOCAL_ENDPOINTS (the local receiver)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback and settings.PUSH_ALLOW_LOCAL_ENDPOINTS:
        return False
    return not address.is_global or address.is_multicast


class SafeResolver(AbstractResolver):
    """The sender's DNS: the system resolver, with every address a host resolves to checked
    before a connection is opened (aiohttp calls it for names, not IP literals, which were
    checked at registration). A host left with no public address raises UnsafeAddress."""

    def __init__(self) -> None:
        self._inner = ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        safe = [r for r in found if not address_problem(ipaddress.ip_address(r["host"]))]
        if not safe:
            raise UnsafeAddress(f"{host} resolves to no public address")
        return safe

    async def close(self) -> None:
        await self._inner.close()


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
