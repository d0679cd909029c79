"""Push notifications through real processes: a Celery worker on the `notifications` queue
sends to the local push service (bench/pushreceiver.py), which decrypts every Web Push
payload with the subscription's private key and verifies the VAPID token."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from celery import Celery
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection

from bench.pushreceiver import Receiver
from core.net import free_port
from matches.models import MatchStatus
from matches.services import match_change_status, match_disallow_goal, match_record_goal
from notifications import delivery, services
from notifications.management.commands.vapid_keys import new_pair
from notifications.models import Device, Follow, Notice, NoticeChunk
from tests.integration.conftest import Process, start_worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
HOLD = 3  # seconds a goal waits for VAR in these tests
CAP_WINDOW = 8


@pytest.fixture(scope="module")
def receiver(tmp_path_factory) -> Iterator[Receiver]:
    push = Receiver(free_port(), log=tmp_path_factory.mktemp("receiver") / "receiver.log")
    yield push
    push.stop()


@pytest.fixture(scope="module")
def push_env(stack_env, receiver) -> dict[str, str]:
    private, public = new_pair()
    return {
        **stack_env,
        # a broker database of its own: only this module's worker takes these tasks
        "CELERY_BROKER_URL": settings.REDIS_URL.rsplit("/", 1)[0] + "/4",
        "VAPID_PRIVATE_KEY": private,
        "VAPID_PUBLIC_KEY": public,
        "PUSH_HTTP_URL": f"{receiver.url}/api/send",
        "PUSH_HTTP_TOKEN": "receiver-token",
        "PUSH_HOLD_SECONDS": str(HOLD),
        "PUSH_CAP_WINDOW": str(CAP_WINDOW),
        "PUSH_BACKOFF_BASE": "1",
        "PUSH_CHUNK_USERS": "40",
        "PUSH_CONCURRENCY": "8",
        "PUSH_BREAKER_FAILURES": "3",
        "PUSH_BREAKER_SECONDS": "3",
        "PUSH_ALLOW_LOCAL_ENDPOINTS": "1",
    }


@pytest.fixture(scope="module")
def sender(push_env) -> Celery:
    # not the current app: the in-process tests after this module send to their own broker
    return Celery(broker=push_env["CELERY_BROKER_URL"], set_as_current=False)


@pytest.fixture(scope="module")
def push_worker(push_env, tmp_path_factory) -> Iterator[Process]:
    worker = start_worker(
        push_env, tmp_path_factory.mktemp("push") / "worker.log", "notifications", concurrency=2
    )
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def clean_receiver(receiver):
    receiver.control(p429=0, p410=0, p500=0, retry_after=1, stall=False)
    receiver.reset()


def notify(sender: Celery, *events) -> None:
    """What matches/effects.py sends after the commit, sent to this module's broker."""
    task = "notifications.tasks.notify_events_task"
    ids = [getattr(e, "event", e).pk for e in events]  # a service's Recorded, or an event
    sender.send_task(task, args=[ids], queue="notifications")


def fan(receiver: Receiver, n: int, *, team=None, match=None, kinds=None, **prefs) -> User:
    user = User.objects.create_user(f"fan{n}")
    services.follow_set(user=user, team=team, match=match, kinds=kinds)
    services.device_register(
        user=user, device_id=f"d{n}", limit=10, backend="webpush", **_keys(receiver, n)
    )
    if prefs:
        services.preferences_set(user=user, **prefs)
    return user


def _keys(receiver: Receiver, n: int) -> dict[str, str]:
    sub = receiver.subscription(n)
    return {
        "endpoint": sub["endpoint"],
        "p256dh": sub["keys"]["p256dh"],
        "auth": sub["keys"]["auth"],
    }


def pushes(receiver: Receiver, kind: str | None = None) -> list[dict]:
    return [r for r in receiver.records() if kind is None or r["payload"]["kind"] == kind]


def kick_off(sender, match):
    event = match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    notify(sender, event)
    return event


def test_a_goal_reaches_a_follower_decrypted_with_ttl_urgency_and_topic(
    push_worker, sender, receiver, match, home
):
    fan(receiver, 1, team=home)
    kick_off(sender, match)
    started = time.time()
    goal = match_record_goal(match=match, team=home, minute=23)
    notify(sender, goal)
    wait_until(lambda: pushes(receiver, "goal"), 30, "the goal push")

    (push,) = pushes(receiver, "goal")
    assert push["who"] == "wp:1"
    assert push["payload"] | {"id": "-", "ts": 0} == {
        "v": 1, "id": "-", "ts": 0, "kind": "goal", "match": match.slug,
        "title": "GOAL! ARG 1-0 FRA", "body": "23'", "s": [1, 0],
        "tag": f"m{match.pk}", "url": f"/m/{match.slug}",
    }  # fmt: skip
    headers = {k.lower(): v for k, v in push["headers"].items()}
    assert headers["ttl"] == "300" and headers["urgency"] == "high"
    assert headers["topic"] == f"m{match.pk}" and headers["content-encoding"] == "aes128gcm"
    assert push["at"] - started >= HOLD  # held for VAR first
    assert receiver.stats()["bad_vapid"] == 0
    kickoff = pushes(receiver, "kickoff")
    assert len(kickoff) == 1 and kickoff[0]["headers"]["Urgency"] == "normal"


def test_a_goal_disallowed_within_the_hold_is_never_sent_and_after_it_is_corrected(
    push_worker, sender, receiver, match, home
):
    fan(receiver, 2, team=home)
    kick_off(sender, match)
    early = match_record_goal(match=match, team=home, minute=10)
    notify(sender, early)
    notify(sender, match_disallow_goal(match=match, goal=early.event, reason="offside"))
    late = match_record_goal(match=match, team=home, minute=30)
    notify(sender, late)
    wait_until(lambda: pushes(receiver, "goal"), 30, "the second goal's push")
    notify(sender, match_disallow_goal(match=match, goal=late.event, reason="handball"))
    wait_until(lambda: pushes(receiver, "var"), 30, "the correction")

    goals, (correction,) = pushes(receiver, "goal"), pushes(receiver, "var")
    assert [g["payload"]["body"] for g in goals] == ["30'"]  # the 10th minute never went out
    assert Notice.objects.get(key=f"goal:{early.event.pk}").state == "cancelled"
    assert correction["payload"]["title"] == "Goal disallowed after VAR: ARG 0-0 FRA"
    assert correction["headers"]["Topic"] == goals[0]["headers"]["Topic"]  # replaces it


def _zone_in_quiet_hours() -> dict:
    """Quiet hours that cover now in Tokyo (the test runs in UTC)."""
    local = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=9)))
    start = (local - dt.timedelta(hours=1)).time().replace(microsecond=0)
    end = (local + dt.timedelta(hours=1)).time().replace(microsecond=0)
    return {"timezone": "Asia/Tokyo", "quiet_from": start, "quiet_to": end}


def test_fans_rules_quiet_hours_cap_digest_kinds_delay_and_unfollow(
    push_worker, sender, receiver, match, home, away
):
    fan(receiver, 10, team=home)  # plain
    fan(receiver, 11, team=home, **_zone_in_quiet_hours())  # asleep: nothing
    fan(receiver, 12, match=match, **_zone_in_quiet_hours())  # asleep, but follows the match
    fan(receiver, 13, team=away, kinds=["goal"], cap=1)  # one push a window, then a digest
    fan(receiver, 14, team=home, kinds=["red_card"])  # no goals wanted
    gone = fan(receiver, 15, team=home)
    Follow.objects.filter(user=gone).delete()  # unfollowed
    fan(receiver, 16, team=home, delay=4)  # watches a broadcast 4 s behind

    # The cap counts in fixed windows: start this test's pushes early in one.
    time.sleep(CAP_WINDOW - time.time() % CAP_WINDOW + 0.1)
    kick_off(sender, match)
    for minute in (5, 6):
        notify(sender, match_record_goal(match=match, team=home, minute=minute))
    wait_until(lambda: len(pushes(receiver, "digest")) == 1, 60, "the digest")
    wait_until(
        lambda: Counter(p["who"] for p in pushes(receiver, "goal"))["wp:16"] == 2,
        30,
        "the delayed fan",
    )

    goals = Counter(p["who"] for p in pushes(receiver, "goal"))
    assert goals == {"wp:10": 2, "wp:12": 2, "wp:13": 1, "wp:16": 2}
    (digest,) = pushes(receiver, "digest")
    assert digest["who"] == "wp:13" and digest["payload"]["title"].startswith("1 goal in ")
    assert digest["payload"]["title"].endswith("ARG 2-0 FRA")
    at = {p["who"]: p["at"] for p in pushes(receiver, "goal")}
    assert at["wp:16"] - at["wp:10"] >= 3.5  # held by the fan's own delay


def test_gone_devices_are_pruned_and_429_waits_for_retry_after(
    push_worker, sender, receiver, match, home
):
    fan(receiver, 20, team=home)
    fan(receiver, 21, team=home)
    receiver.control(p429=1, retry_after=3)
    kick_off(sender, match)
    wait_until(lambda: receiver.stats()["answers"].get("429", 0) >= 2, 30, "the 429s")
    refused_at = time.time()
    receiver.control(p429=0)
    wait_until(lambda: len(pushes(receiver, "kickoff")) == 2, 30, "the retried pushes")
    assert min(p["at"] for p in pushes(receiver, "kickoff")) - refused_at >= 2  # Retry-After: 3

    receiver.control(p410=1)
    notify(sender, match_record_goal(match=match, team=home, minute=3))
    wait_until(lambda: not Device.objects.exists(), 30, "the gone devices pruned")
    assert pushes(receiver, "goal") == []


def test_a_failing_push_service_trips_the_breaker_which_closes_by_itself(
    push_worker, sender, receiver, match, home
):
    from core.redis import client

    for n in range(5):
        fan(receiver, 40 + n, team=home)
    receiver.control(p500=1)
    kick_off(sender, match)
    wait_until(lambda: client().exists("push:open:webpush"), 30, "the breaker to open")
    tripped = time.time()
    receiver.control(p500=0)
    wait_until(lambda: len(pushes(receiver, "kickoff")) == 5, 60, "the pushes after it closed")

    assert receiver.stats()["answers"]["500"] == 5  # then nothing until the breaker closed
    assert min(p["at"] for p in pushes(receiver, "kickoff")) - tripped >= 2


def test_the_http_api_backend_gets_its_json_message(push_worker, sender, receiver, match, home):
    user = User.objects.create_user("mini")
    services.follow_set(user=user, team=home, match=None, kinds=["kickoff"])
    services.device_register(user=user, device_id="app", limit=10, backend="http", token="tok-1")
    kick_off(sender, match)
    wait_until(lambda: pushes(receiver), 30, "the http push")

    (push,) = receiver.records()
    assert push["who"] == "http:tok-1"
    message = push["payload"]
    assert message["collapse_key"] == f"m{match.pk}" and message["ttl"] == 600
    assert message["priority"] == "normal" and message["data"]["kind"] == "kickoff"


def test_a_worker_killed_mid_chunk_loses_no_push_and_sends_none_twice(
    push_env, receiver, match, home, tmp_path
):
    fans = [fan(receiver, 100 + n, team=home, kinds=["goal"]) for n in range(120)]
    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    goal = match_record_goal(match=match, team=home, minute=40)
    # A broker of its own: the victim alone takes the chunks, so when its batch is held on
    # the network the whole batch was written (the module's worker does not compete).
    broker = settings.REDIS_URL.rsplit("/", 1)[0] + "/5"
    env = {**push_env, "PUSH_HOLD_SECONDS": "0", "CELERY_BROKER_URL": broker}
    sender = Celery(broker=broker, set_as_current=False)
    victim = start_worker(env, tmp_path / "victim.log", "notifications")
    try:
        receiver.control(stall=True)
        notify(sender, goal)
        wait_until(lambda: receiver.stats()["waiting"] >= 8, 30, "a batch on the network")
    finally:
        victim.kill_all()
    receiver.control(stall=False)
    sent_before = receiver.stats()["received"]
    assert 0 < sent_before < len(fans)
    assert NoticeChunk.objects.filter(state="pending").exists()

    rescuer = start_worker(env, tmp_path / "rescuer.log", "notifications")
    try:
        for chunk_id in delivery.stale_chunks(older_than=dt.timedelta(0)):
            sender.send_task(
                "notifications.tasks.notice_chunk_task", args=[chunk_id], queue="notifications"
            )
        wait_until(
            lambda: Notice.objects.filter(key=f"goal:{goal.event.pk}", state="done").exists(),
            60,
            "the notice",
        )
    finally:
        rescuer.stop()

    received = Counter(p["who"] for p in pushes(receiver, "goal"))
    assert len(received) == len(fans) and set(received.values()) == {1}


def test_a_fan_who_saw_the_goal_on_a_socket_is_not_pushed_it(
    servers, push_worker, sender, receiver, match, home
):
    import asyncio

    from rest_framework.authtoken.models import Token

    from tests.integration.wsclient import Fan

    watcher = fan(receiver, 30, team=home)
    fan(receiver, 31, team=home)
    token = Token.objects.create(user=watcher).key
    kick_off(sender, match)

    def record_goal():
        try:
            return match_record_goal(match=match, team=home, minute=7)
        finally:
            connection.close()  # this thread's own connection

    async def watch_the_goal():
        client = await Fan.connect(servers["uvicorn"].ws_url, origin=None)
        await client.send({"op": "auth", "token": token})
        await client.recv()
        await client.send({"op": "sub", "ch": f"match:{match.slug}"})
        await client.recv()  # the snapshot
        recorded = await asyncio.to_thread(record_goal)
        await client.recv_until(lambda f: f.get("t") == "goal")
        await client.close()
        return recorded

    goal = asyncio.run(watch_the_goal())
    notify(sender, goal)
    key = f"goal:{goal.event.pk}"
    wait_until(lambda: Notice.objects.filter(key=key, state="done").exists(), 30, "the notice")

    assert [p["who"] for p in pushes(receiver, "goal")] == ["wp:31"]
