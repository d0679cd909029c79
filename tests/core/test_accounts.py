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


# ---- sign-up -------------------------------------------------------------------------------


def sign_up(api, username, password="a long enough secret"):
    return api.post(
        "/api/v1/auth/signup/", {"username": username, "password": password}, format="json"
    )


def test_sign_up_creates_the_account_signed_in(api):
    answer = sign_up(api, "Lionel10")

    assert answer.status_code == 201
    body = answer.json()
    user = User.objects.get(username="Lionel10")
    assert body == {
        "token": Token.objects.get(user=user).key,
        "user": user.pk,
        "username": "Lionel10",
    }
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api.get("/api/v1/me/predictions/").status_code == 200
    signed_in = api.post(
        "/api/v1/auth/token/", {"username": "Lionel10", "password": "a long enough secret"},
        format="json",
    )  # fmt: skip
    assert signed_in.json()["token"] == body["token"]


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("ab", "a long enough secret", "username"),  # too short
        ("no spaces here", "a long enough secret", "username"),
        ("<script>", "a long enough secret", "username"),
        ("fan2", "short", "password"),  # Django's validators: too short
        ("fan2", "password123", "password"),  # too common
        ("fan2", "12345678901", "password"),  # all digits
        ("supporter", "supporter1", "password"),  # too like the username
    ],
)
def test_a_bad_sign_up_gets_a_reason_and_creates_nothing(api, username, password, field):
    answer = sign_up(api, username, password)

    assert answer.status_code == 400 and field in answer.json()
    assert not User.objects.exists()


def test_a_taken_username_is_refused_in_any_case(api):
    User.objects.create_user("Diego", password="pw-diego-secret")

    answer = sign_up(api, "diego")

    assert answer.status_code == 400
    assert answer.json()["username"] == ["this username is taken"]
    assert User.objects.count() == 1


def test_sign_ups_are_rate_limited_per_address(api):
    answers = [sign_up(api, f"fan{i}") for i in range(6)]

    assert [a.status_code for a in answers] == [201] * 5 + [429]
    assert "Retry-After" in answers[-1]
    assert User.objects.count() == 5
