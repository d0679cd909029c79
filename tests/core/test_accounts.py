"""Sign in for a token, sign out, and the login rate limit (REST, real PostgreSQL)."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


def test_sign_in_returns_the_token_and_sign_out_revokes_it(api):
    user = User.objects.create_user("fan", password="pw-fan-secret")

    signed_in = api.post(
        "/api/v1/auth/token/", {"username": "fan", "password": "pw-fan-secret"}, format="json"
    )
    token = signed_in.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    out = api.delete("/api/v1/auth/token/")

    assert signed_in.status_code == 200
    assert signed_in.json() == {"token": token, "user": user.pk, "username": "fan"}
    assert out.status_code == 204 and not Token.objects.filter(key=token).exists()
    assert api.get("/api/v1/me/predictions/").status_code == 401


@pytest.mark.parametrize(
    "body", [{"username": "fan", "password": "wrong"}, {"username": "nobody", "password": "x"}]
)
def test_wrong_credentials_get_a_clear_400(api, body):
    User.objects.create_user("fan", password="pw-fan-secret")

    answer = api.post("/api/v1/auth/token/", body, format="json")

    assert answer.status_code == 400 and answer.json()["code"] == "bad_credentials"


def test_guessing_is_rate_limited(api, settings):
    answers = [
        api.post("/api/v1/auth/token/", {"username": "fan", "password": f"guess{i}"}, format="json")
        for i in range(11)
    ]

    assert [a.status_code for a in answers][-1] == 429
    assert "Retry-After" in answers[-1]


def test_signing_out_needs_a_token(api):
    assert api.delete("/api/v1/auth/token/").status_code == 401


@pytest.mark.django_db
def test_the_api_sign_in_lockout_is_json_with_retry_after(settings):
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    User.objects.create_user("locky", password="the-right-one-1")
    api = APIClient()
    url = "/api/v1/auth/token/"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api.post(url, {"username": "locky", "password": "wrong"}, format="json")

    locked = api.post(url, {"username": "locky", "password": "the-right-one-1"}, format="json")

    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert locked.json()["code"] == "locked_out" and "try again" in locked.json()["detail"]
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
