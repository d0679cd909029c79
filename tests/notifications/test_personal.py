"""Points after settlement and the reminder before the lock, sent in-process through the real
sender to the local push service (decrypted there), on real PostgreSQL and Redis."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from bench.pushreceiver import Receiver
from core.net import free_port
from notifications import backends, delivery, notices, personal, services
from notifications.management.commands.vapid_keys import new_pair
from notifications.models import Notice
from predictions import settlement
from predictions.models import Kind
from tests.predictions.helpers import play, predict

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def receiver(tmp_path_factory) -> Iterator[Receiver]:
    push = Receiver(free_port(), log=tmp_path_factory.mktemp("receiver") / "receiver.log")
    yield push
    push.stop()


@pytest.fixture(autouse=True)
def empty_boards(db) -> None:
    """Ranks in pushes come from the boards: none left over from other modules' tests."""
    from predictions import leaderboard

    leaderboard.drop()
    leaderboard.mark_built()


@pytest.fixture(autouse=True)
def push_settings(receiver) -> Iterator[None]:
    receiver.reset()
    with override_settings(VAPID_PRIVATE_KEY=new_pair()[0], PUSH_ALLOW_LOCAL_ENDPOINTS=True):
        backends.backends.cache_clear()
        yield
    backends.backends.cache_clear()


def follower(receiver: Receiver, n: int, match, kinds: list[str], **prefs) -> User:
    user = User.objects.create_user(f"p{n}")
    services.follow_set(user=user, team=None, match=match, kinds=kinds)
    sub = receiver.subscription(n)
    services.device_register(
        user=user, device_id="d", limit=10, backend="webpush", endpoint=sub["endpoint"],
        p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"],
    )  # fmt: skip
    if prefs:
        services.preferences_set(user=user, **prefs)
    return user


def send(chunks) -> None:
    for chunk in chunks:
        assert delivery.send_chunk(chunk.pk).retry_in is None


def test_each_fan_is_pushed_their_points_and_rank_after_settlement(receiver, match, home):
    winner = follower(receiver, 1, match, ["points"])
    loser = follower(receiver, 2, match, ["points"])
    quiet = follower(receiver, 3, match, ["goal"])  # does not want points
    predict(winner, match, Kind.SCORE, home_goals=1, away_goals=0)
    predict(loser, match, Kind.SCORE, home_goals=0, away_goals=2)
    predict(quiet, match, Kind.SCORE, home_goals=1, away_goals=0)
    play(match, goals=[(home, 10, None, "goal")])
    _, chunk_ids = settlement.settlement_begin(match_id=match.pk)
    for chunk_id in chunk_ids:
        settlement.settlement_chunk(chunk_id=chunk_id)
        send([personal.points_chunk(chunk_id)])
        send([personal.points_chunk(chunk_id)])  # a re-delivered task: nothing more

    pushes = {r["who"]: r["payload"] for r in receiver.records()}
    assert set(pushes) == {"wp:1", "wp:2"}
    assert pushes["wp:1"]["title"] == "You scored 10 points on ARG 1-0 FRA"
    assert pushes["wp:1"]["body"] == "10 in all, rank 1" and pushes["wp:1"]["rank"] == 1
    assert pushes["wp:2"]["title"] == "You scored 0 points on ARG 1-0 FRA"


def test_a_reminder_goes_before_the_lock_to_fans_who_have_not_predicted(receiver, make_match):
    soon = make_match(day=1)
    soon.kickoff = timezone.now() + dt.timedelta(minutes=20)
    soon.save(update_fields=["kickoff"])
    follower(receiver, 10, soon, ["reminder"])  # 30 minutes ahead (default): due
    follower(receiver, 11, soon, ["reminder"], reminder_minutes=10)  # not yet
    done = follower(receiver, 12, soon, ["reminder"])
    predict(done, soon, Kind.WINNER, outcome="H")  # predicted already

    created = personal.reminders_due()
    assert personal.reminders_due() == []  # once
    for notice_id in created:
        send(notices.notice_release(notice_id)[1])

    (push,) = receiver.records()
    assert push["who"] == "wp:10"
    assert push["payload"]["title"] == "ARG v FRA kicks off in 20 min"
    assert Notice.objects.get(pk=created[0]).state == "done"


def test_an_abandoned_match_pushes_no_points(receiver, match, home):
    from matches.models import MatchStatus
    from matches.services import match_change_status

    fan_ = follower(receiver, 20, match, ["points"])
    predict(fan_, match, Kind.SCORE, home_goals=1, away_goals=0)
    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    match_change_status(match=match, status=MatchStatus.ABANDONED)
    _, chunk_ids = settlement.settlement_begin(match_id=match.pk)
    for chunk_id in chunk_ids:
        settlement.settlement_chunk(chunk_id=chunk_id)
        send([personal.points_chunk(chunk_id)])

    assert chunk_ids and receiver.records() == []


# Hostile world, round 3: a name is checked again when the sender connects (DNS can change
# after registration). `localhost` stands for a public name that now resolves to loopback.
def test_a_name_that_resolves_inside_is_refused_at_send_time_and_never_contacted(receiver):
    from notifications.backends import Message, Target
    from notifications.sender import Sender

    sub = receiver.subscription(9)
    target = Target(
        pk=990001, user_id=1, backend="webpush",
        endpoint=sub["endpoint"].replace("127.0.0.1", "localhost"),
        p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"],
    )  # fmt: skip
    message = Message(b'{"title":"Goal"}', 60, "high", "m")
    outside = Sender()  # its own connections and DNS cache: nothing reused from another test
    try:
        with override_settings(PUSH_ALLOW_LOCAL_ENDPOINTS=False):
            refused = outside.send(990001, [target], lambda _: message)
        assert (refused.failed, refused.sent, refused.retry) == (1, 0, 0)
        assert receiver.stats()["received"] == 0

        allowed = Sender().send(990002, [target], lambda _: message)  # the local receiver
        assert allowed.sent == 1 and receiver.stats()["received"] == 1
    finally:
        outside.close()
