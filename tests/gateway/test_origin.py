"""The socket's origin policy: listed origins, and the server's own (the web client)."""

import pytest

from gateway.auth import origin_allowed


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://127.0.0.1:8000", None, True),  # listed (WS_ALLOWED_ORIGINS in DEBUG)
        ("https://livescore.example", "livescore.example", True),  # same origin as the page
        ("http://127.0.0.1:41234", "127.0.0.1:41234", True),
        ("https://evil.example", "livescore.example", False),  # another site's page
        ("https://livescore.example.evil.example", "livescore.example", False),
        ("null", "livescore.example", False),  # sandboxed frames, file:// pages
        ("https://evil.example", None, False),
    ],
)
def test_origin_policy(origin, host, allowed):
    assert origin_allowed(origin, host) is allowed
