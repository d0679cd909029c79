"""Follows, preferences and devices over REST: owners only, bad input refused with a reason."""

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from bench.pushreceiver import subscription
from notifications.models import Device, Follow
from tests.conftest import queued_tasks, token_client

pytestmark = pytest.mark.django_db

SUB = subscription(1, 7, "https://fcm.googleapis.com/fcm/send")


@pytest.fixture
def fan() -> User:
    return User.objects.create_user("fan")


@pytest.fixture
def other() -> User:
    return User.objects.create_user("other")


def register(client, device_id="phone", sub=SUB, **extra):
    return client.post(
        "/api/v1/push/devices/",
        {"device_id": device_id, "subscription": sub, **extra},
        format="json",
    )


def test_follow_a_team_and_a_match_then_change_kinds_and_unfollow(fan, match, home):
    api = token_client(fan)

    team = api.post("/api/v1/push/follows/", {"team": "ARG"}, format="json")
    again = api.post("/api/v1/push/follows/", {"team": "ARG", "kinds": ["goal"]}, format="json")
    one = api.post(
        "/api/v1/push/follows/", {"match": match.slug, "kinds": ["goal", "var"]}, format="json"
    )
    changed = api.patch(
        f"/api/v1/push/follows/{one.json()['id']}/", {"kinds": ["full_time"]}, format="json"
    )

    assert team.status_code == 201 and again.status_code == 200 and one.status_code == 201
    assert team.json()["kinds"] == ["kickoff", "goal", "red_card", "full_time", "var"]
    assert again.json()["kinds"] == ["goal"] and changed.json()["kinds"] == ["full_time"]
    assert [f["team"] or f["match"] for f in api.get("/api/v1/push/follows/").json()] == [
        "ARG",
        match.slug,
    ]
    names = [f["name"] for f in api.get("/api/v1/push/follows/").json()]
    assert names == [home.name, f"{match.home.name} v {match.away.name}"]  # names, not codes
    assert api.delete(f"/api/v1/push/follows/{team.json()['id']}/").status_code == 204
    assert Follow.objects.filter(user=fan).count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "detail"),
        ({"team": "ARG", "match": "x"}, "match"),
        ({"team": "ZZZ"}, "team"),
        ({"team": "ARG", "kinds": ["goal", "weather"]}, "kinds"),
    ],
)
def test_bad_follows_are_refused_with_the_field_at_fault(fan, home, match, body, field):
    answer = token_client(fan).post("/api/v1/push/follows/", body, format="json")

    assert answer.status_code == 400 and field in answer.json()


def test_only_the_owner_sees_or_changes_follows_and_devices(fan, other, home, api):
    follow = token_client(fan).post("/api/v1/push/follows/", {"team": "ARG"}, format="json").json()
    assert register(token_client(fan)).status_code == 201
    intruder = token_client(other)

    assert intruder.get("/api/v1/push/follows/").json() == []
    assert (
        intruder.patch(
            f"/api/v1/push/follows/{follow['id']}/", {"kinds": []}, format="json"
        ).status_code
        == 404
    )
    assert intruder.delete(f"/api/v1/push/follows/{follow['id']}/").status_code == 404
    assert intruder.get("/api/v1/push/devices/").json() == []
    assert intruder.delete("/api/v1/push/devices/phone/").status_code == 404
    assert api.post("/api/v1/push/follows/", {"team": "ARG"}, format="json").status_code == 401
    assert api.get("/api/v1/push/devices/").status_code == 401
    assert Device.objects.filter(user=fan).count() == 1


def test_registering_again_replaces_and_a_shared_browser_moves_to_the_new_fan(fan, other):
    assert register(token_client(fan)).status_code == 201
    assert register(token_client(fan)).status_code == 200
    assert register(token_client(other), device_id="laptop").status_code == 201

    assert list(Device.objects.values_list("user__username", "device_id")) == [("other", "laptop")]


@override_settings(PUSH_ALLOW_LOCAL_ENDPOINTS=False)
@pytest.mark.parametrize(
    "sub, field",
    [
        ({"endpoint": SUB["endpoint"]}, "keys"),
        ({**SUB, "keys": {"p256dh": SUB["keys"]["p256dh"]}}, "auth"),
        ({**SUB, "keys": {**SUB["keys"], "p256dh": "bm90IGEga2V5"}}, "p256dh"),
        ({**SUB, "keys": {**SUB["keys"], "auth": "c2hvcnQ"}}, "auth"),
        ({**SUB, "endpoint": "http://fcm.googleapis.com/fcm/send/x"}, "endpoint"),
        ({**SUB, "endpoint": "https://127.0.0.1/wp/1"}, "endpoint"),
        ({**SUB, "endpoint": "https://10.1.2.3/wp/1"}, "endpoint"),
        ({**SUB, "endpoint": "https://[::1]/wp/1"}, "endpoint"),
        ({**SUB, "endpoint": "https://attacker.example/wp/1"}, "endpoint"),
        ({**SUB, "endpoint": "https://user:pw@fcm.googleapis.com/x"}, "endpoint"),
    ],
)
def test_bad_subscriptions_are_refused_with_a_clear_400(fan, sub, field):
    answer = register(token_client(fan), sub=sub)

    assert answer.status_code == 400, answer.json()
    assert field in str(answer.json())
    assert not Device.objects.exists()


# Hostile world, round 3: with PUSH_ENDPOINT_HOSTS empty ("any public host"), names that
# mean loopback or internal are still refused, and so is an address in a WHATWG spelling.
@override_settings(PUSH_ALLOW_LOCAL_ENDPOINTS=False, PUSH_ENDPOINT_HOSTS=[])
@pytest.mark.parametrize(
    "endpoint",
    [
        "https://localhost/wp/1",
        "https://LOCALHOST/wp/1",
        "https://localhost./wp/1",
        "https://push.localhost/wp/1",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://metadata/wp/1",
        "https://printer.local/wp/1",
        "https://router.home.arpa/wp/1",
        "https://0x7f.1/wp/1",
        "https://2130706433/wp/1",
        "https://[::ffff:127.0.0.1]/wp/1",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/wp/1",
        "https://224.0.0.1/wp/1",
    ],
)
def test_special_use_names_and_inner_addresses_are_refused_with_any_host_allowed(fan, endpoint):
    answer = register(token_client(fan), sub={**SUB, "endpoint": endpoint})

    assert answer.status_code == 400, answer.json()
    assert "endpoint" in str(answer.json())
    assert not Device.objects.exists()


@override_settings(PUSH_ALLOW_LOCAL_ENDPOINTS=False, PUSH_ENDPOINT_HOSTS=[])
def test_a_public_name_is_accepted_with_any_host_allowed(fan):
    answer = register(token_client(fan), sub={**SUB, "endpoint": "https://push.example.org/wp/1"})

    assert answer.status_code == 201, answer.json()


def test_a_device_id_and_the_backend_are_checked(fan):
    api = token_client(fan)

    assert register(api, device_id="a b").status_code == 400
    assert (
        api.post(
            "/api/v1/push/devices/", {"device_id": "x", "backend": "http"}, format="json"
        ).status_code
        == 400
    )
    assert api.post("/api/v1/push/devices/", {"device_id": "x"}, format="json").status_code == 400


def test_preferences_default_then_change_and_bad_values(fan):
    api = token_client(fan)

    assert api.get("/api/v1/push/preferences/").json() == {
        "timezone": "UTC", "quiet_from": None, "quiet_to": None, "delay": 0, "cap": 3,
        "reminder_minutes": 30,
    }  # fmt: skip
    changed = api.patch(
        "/api/v1/push/preferences/",
        {"timezone": "America/Sao_Paulo", "quiet_from": "23:00", "quiet_to": "07:00", "delay": 45},
        format="json",
    )
    assert changed.status_code == 200 and changed.json()["delay"] == 45
    for bad in (
        {"timezone": "Mars/Olympus"},
        {"delay": 121},
        {"cap": 0},
        {"quiet_from": "22:00", "quiet_to": None},
    ):
        answer = api.patch("/api/v1/push/preferences/", bad, format="json")
        assert answer.status_code == 400, bad
    assert api.get("/api/v1/push/preferences/").json()["timezone"] == "America/Sao_Paulo"


def test_the_config_names_the_vapid_key_and_the_kinds(api):
    with override_settings(VAPID_PUBLIC_KEY="BPUB"):
        config = api.get("/api/v1/push/config/").json()

    assert config["vapid_public_key"] == "BPUB" and "goal" in config["kinds"]


@pytest.mark.django_db(transaction=True)
def test_a_goal_is_handed_to_the_notifications_queue_after_commit(broker, match, home):
    from matches.models import MatchStatus
    from matches.services import match_change_status, match_record_goal

    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    match_record_goal(match=match, team=home, minute=3)

    assert queued_tasks(broker, "notifications") == ["notifications.tasks.notify_events_task"] * 2


@override_settings(PUSH_DEVICES_PER_USER=2)
def test_a_fan_has_at_most_so_many_devices(fan):
    api = token_client(fan)
    for n in (1, 2):
        sub = subscription(n, 7, "https://fcm.googleapis.com/fcm/send")
        assert register(api, device_id=f"d{n}", sub=sub).status_code == 201

    third = register(api, device_id="d3", sub=subscription(3, 7, "https://fcm.googleapis.com/x"))
    again = register(api, device_id="d2", sub=subscription(4, 7, "https://fcm.googleapis.com/y"))

    assert third.status_code == 400 and "at most 2" in str(third.json()["device_id"])
    assert again.status_code == 200  # replacing one of them is fine


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_registrations_never_passes_the_device_cap():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from notifications import services

    fan = User.objects.create_user("bursty")
    for n in range(9):
        services.device_register(
            user=fan, device_id=f"old{n}", limit=10, backend="http", token=f"t{n}"
        )

    def register_one(n: int) -> str:
        try:
            services.device_register(
                user=fan, device_id=f"new{n}", limit=10, backend="http", token=f"n{n}"
            )
            return "ok"
        except services.DeviceLimitReached:
            return "full"
        finally:
            connection.close()

    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(register_one, range(12)))

    assert Device.objects.filter(user=fan).count() == 10
    assert outcomes.count("ok") == 1 and outcomes.count("full") == 11


@override_settings(
    PUSH_ALLOW_LOCAL_ENDPOINTS=True,
    PUSH_ENDPOINT_HOSTS=["fcm.googleapis.com", "push.services.mozilla.com"],
)
def test_the_demos_local_receiver_is_accepted_beside_a_push_service_list(fan):
    """`make run`'s push receiver registers a loopback http endpoint while the list of push
    services is the default one: local endpoints are allowed, nothing else on the way."""
    local = register(token_client(fan), sub={**SUB, "endpoint": "http://127.0.0.1:8900/wp/1"})
    private = register(token_client(fan), sub={**SUB, "endpoint": "http://10.0.0.1/wp/1"})

    assert local.status_code == 201, local.json()
    assert private.status_code == 400 and "endpoint" in str(private.json())
