"""Make a VAPID key pair (RFC 8292) for Web Push: put them in the environment."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management.base import BaseCommand


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_pair() -> tuple[str, str]:
    """(private key: the 32-byte scalar, public key: the uncompressed point), base64url."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(private), b64url(public)


class Command(BaseCommand):
    help = "Print a new VAPID key pair as environment lines (VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY)."

    def handle(self, *args: object, **options: object) -> None:
        private, public = new_pair()
        self.stdout.write(f"VAPID_PRIVATE_KEY={private}\nVAPID_PUBLIC_KEY={public}\n")
