"""The pure parts of the pipeline: quiet hours, backends' verdicts, Retry-After."""

import datetime as dt

import pytest

from notifications.backends import HttpApi, Message, Target, WebPush, retry_after
from notifications.delivery import Recipient, in_quiet_hours
from notifications.management.commands.vapid_keys import new_pair


def recipient(tz: str, start: str | None, end: str | None) -> Recipient:
    parse = lambda s: dt.time.fromisoformat(s) if s else None  # noqa: E731
    return Recipient(
        Target(1, 1, "webpush"),
        tz=tz,
        quiet_from=parse(start),
        quiet_to=parse(end),
        cap=3,
        explicit=False,
    )


NOON_UTC = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "tz, start, end, quiet",
    [
        ("UTC", "11:00", "13:00", True),
        ("UTC", "13:00", "14:00", False),
        ("Asia/Tokyo", "22:00", "07:00", False),  # 12:00 UTC is 21:00 in Tokyo
        ("Asia/Tokyo", "20:00", "22:00", True),
        ("America/Los_Angeles", "23:00", "06:00", True),  # 05:00 PDT, across midnight
        ("America/Los_Angeles", "06:00", "23:00", False),
        ("UTC", None, None, False),
        ("Not/AZone", "11:00", "13:00", True),  # an unknown zone counts as UTC
    ],
)
def test_quiet_hours_in_the_fans_time_zone(tz, start, end, quiet):
    assert in_quiet_hours(recipient(tz, start, end), NOON_UTC) is quiet


def test_retry_after_as_seconds_or_a_date():
    assert retry_after({"Retry-After": "7"}) == 7
    assert retry_after({"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}) > 1e9
    assert retry_after({"Retry-After": "soon"}) is None and retry_after({}) is None


def test_web_push_verdicts_headers_and_a_reused_vapid_token():
    backend = WebPush(new_pair()[0], "mailto:ops@example.com")
    from bench.pushreceiver import subscription

    sub = subscription(3, 7, "https://push.example")
    target = Target(1, 1, "webpush", sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"])
    request = backend.request(target, Message(b'{"kind":"goal"}', 300, "high", "m9"))
    again = backend.request(target, Message(b'{"kind":"goal"}', 300, "high", "m9"))

    assert request.headers["TTL"] == "300" and request.headers["Urgency"] == "high"
    assert request.headers["Topic"] == "m9" and request.body != again.body  # fresh keys, salt
    assert request.headers["Authorization"] == again.headers["Authorization"]  # signed once
    assert [backend.outcome(s, {}, b"").verdict for s in (201, 404, 410, 429, 503, 400, 403)] == [
        "ok", "gone", "gone", "retry", "retry", "failed", "failed",
    ]  # fmt: skip
    assert backend.outcome(429, {"Retry-After": "12"}, b"").retry_after == 12


def test_the_http_api_reads_unregistered_as_gone():
    backend = HttpApi("https://push.example/send", "secret")
    request = backend.request(
        Target(1, 1, "http", token="tok"), Message(b'{"kind":"goal"}', 300, "high", "m9")
    )

    assert request.headers["Authorization"] == "Bearer secret"
    assert b'"collapse_key":"m9"' in request.body and b'"priority":"high"' in request.body
    assert backend.outcome(400, {}, b'{"error":{"status":"UNREGISTERED"}}').verdict == "gone"
    assert backend.outcome(400, {}, b'{"error":{"status":"INVALID_ARGUMENT"}}').verdict == "failed"
