"""Sign-out and deactivation reach every web process (core.auth: a revocation log in Redis,
read by each process at most a second apart), here across the two servers of the suite."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db(transaction=True)
BOUND = 1.0 + 1.5  # the poll interval, plus a request's time on a busy machine


def call(server, method: str, path: str, token: str | None = None, body=None) -> int:
    request = urllib.request.Request(
        server.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Token {token}"} if token else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def sign_in(server, username: str) -> str:
    request = urllib.request.Request(
        server.url + "/api/v1/auth/token/",
        data=json.dumps({"username": username, "password": "a long pass phrase"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["token"]


def refused_within(server, token: str) -> float:
    """Seconds until `server` answers 401 for the token (polling every 50 ms)."""
    start = time.monotonic()
    while call(server, "GET", "/api/v1/push/preferences/", token) != 401:
        assert time.monotonic() - start < 35, "the token still works after the cache's TTL"
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def fan(db) -> User:
    return User.objects.create_user("sessions-fan", password="a long pass phrase")


def test_signing_out_on_one_process_stops_the_token_on_the_other_within_a_second(servers, fan):
    here, there = servers["daphne"], servers["uvicorn"]
    token = sign_in(here, fan.username)
    for server in (here, there):  # both processes now hold the token in their cache
        assert call(server, "GET", "/api/v1/push/preferences/", token) == 200

    assert call(here, "DELETE", "/api/v1/auth/token/", token) == 204

    assert call(here, "GET", "/api/v1/push/preferences/", token) == 401  # at once, here
    assert refused_within(there, token) < BOUND


def test_a_user_deactivated_in_the_admin_is_refused_by_every_process(servers, fan):
    token = sign_in(servers["uvicorn"], fan.username)
    for server in servers.values():
        assert call(server, "GET", "/api/v1/push/preferences/", token) == 200

    fan.is_active = False
    fan.save()  # as the admin's change form does, in yet another process

    assert max(refused_within(server, token) for server in servers.values()) < BOUND
