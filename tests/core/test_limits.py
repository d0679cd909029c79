"""Rate limits (429 with Retry-After), admin login lockout, and demo-only commands."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.throttling import SimpleRateThrottle

from core.redis import client as redis_client
from tests.conftest import token_client
from tests.feedclient import feed_event, signed_headers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counters():
    redis_client().flushdb()  # the counters live in the Redis cache


@pytest.fixture
def rates(monkeypatch):
    def set_rate(scope: str, rate: str) -> None:
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, rate)

    return set_rate


def test_anonymous_reads_are_limited_per_ip_with_retry_after(api, rates):
    rates("anon", "3/min")

    answers = [api.get("/api/v1/matches/") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 0 < int(answers[-1]["Retry-After"]) <= 60


def test_writes_are_limited_per_user(fan, rates):
    rates("writes", "2/min")
    client = token_client(fan)

    codes = [client.post("/api/v1/leagues/", {"name": "x"}, format="json").status_code]
    codes += [client.post("/api/v1/leagues/", {"name": "y"}, format="json").status_code]
    codes += [client.post("/api/v1/leagues/", {"name": "z"}, format="json").status_code]
    read = client.get("/api/v1/leagues/")

    assert codes == [201, 201, 429] and read.status_code == 200


def test_league_joins_are_limited_per_user(fan, rates):
    rates("league_join", "2/min")
    client = token_client(fan)

    codes = [
        client.post("/api/v1/leagues/join/", {"code": f"guess{n}"}, format="json").status_code
        for n in range(3)
    ]

    assert codes == [404, 404, 429]


def test_the_feed_is_limited_per_provider_after_the_signature(client, match, rates):
    rates("feed", "2/min")

    def post(seq: int, **tamper):
        body = json.dumps({"events": [feed_event(match, seq, "status", status="first_half")]})
        headers = {**signed_headers(body.encode()), **tamper}
        return client.post(
            "/api/v1/feed/events", data=body, content_type="application/json", **headers
        ).status_code

    forged = [post(1, HTTP_X_LIVESCORE_SIGNATURE="sha256=00") for _ in range(3)]
    genuine = [post(n) for n in (1, 2, 3)]

    assert forged == [401, 401, 401]  # spent nothing of the provider's allowance
    assert genuine == [202, 202, 429]


def test_admin_login_locks_out_after_repeated_failures(client, operator_user):
    for _ in range(30):
        client.post("/admin/login/", {"username": "op", "password": "wrong"})

    right = client.post("/admin/login/", {"username": "op", "password": "pw-operator-1"})

    assert right.status_code == 429
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_the_demo_operator_is_refused_outside_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("create_demo_operator")
