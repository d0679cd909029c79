"""The shared cast (an operator who edits, a read-only viewer, a fan), the match fixtures, and
helpers every suite uses (capture_frames, token clients, concurrency). Objects are built by
tests/factories.py."""

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from matches.models import Competition, Match, Stage, Team
from matches.services import match_create
from social import reactions
from tests.factories import make_fan, make_staff, make_team


@pytest.fixture(autouse=True)
def _fresh_moment_cache():
    """Matches of different tests share slugs: a moment cached by one must not serve the
    next (in production a slug names one match for its life)."""
    reactions.forget_caches()


@pytest.fixture
def competition(db) -> Competition:
    return Competition.objects.create(name="Test Cup", slug="test-cup", season=2026)


@pytest.fixture
def group_stage(competition) -> Stage:
    return Stage.objects.create(
        competition=competition, name="Group stage", slug="group-stage", kind=Stage.Kind.GROUP
    )


@pytest.fixture
def final_stage(competition) -> Stage:
    return Stage.objects.create(
        competition=competition, name="Final", slug="final", kind=Stage.Kind.KNOCKOUT, order=6
    )


@pytest.fixture
def home(db) -> Team:
    return make_team("ARG")


@pytest.fixture
def away(db) -> Team:
    return make_team("FRA")


@pytest.fixture
def make_match(competition, group_stage, home, away):
    def factory(stage: Stage | None = None, day: int = 18, **kwargs) -> Match:
        return match_create(
            competition=competition,
            stage=stage or group_stage,
            home=kwargs.pop("home", home),
            away=kwargs.pop("away", away),
            kickoff=dt.datetime(2026, 12, day, 15, tzinfo=dt.UTC),
            **kwargs,
        )

    return factory


@pytest.fixture
def match(make_match) -> Match:
    return make_match()


@pytest.fixture
def knockout_match(make_match, final_stage) -> Match:
    return make_match(stage=final_stage, day=19)


@pytest.fixture
def operator_user(db) -> User:
    return make_staff("op", "editor", password="pw-operator-1")


@pytest.fixture
def viewer_user(db) -> User:
    return make_staff("viewer", "operator", password="pw-viewer-1")


@pytest.fixture
def fan(db) -> User:
    return make_fan("fan1", password="pw-fan-1")


@pytest.fixture
def broker():
    """The broker's Redis, its queues emptied before and after (in-process tests look into
    them; the real workers of tests/integration use a broker database of their own)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    queues = ("events", "realtime", "settlement", "notifications", "default")
    client.delete(*queues)
    yield client
    client.delete(*queues)


def run_concurrently(work, times: int) -> list:
    """Run `work()` in `times` threads released together; returns what each returned or
    raised. Each thread closes its database connection (Django opens one per thread)."""
    barrier, results = threading.Barrier(times), []

    def one() -> None:
        try:
            barrier.wait()
            results.append(work())
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def queued_tasks(broker, queue: str) -> list[str]:
    """Names of the tasks waiting on a queue, oldest last."""
    return [json.loads(m)["headers"]["task"] for m in broker.lrange(queue, 0, -1)]


@pytest.fixture
def capture_frames(monkeypatch, django_capture_on_commit_callbacks):
    """Zulip's capture_send_event_calls for frames: `with capture_frames() as frames:` runs
    the block, commits its on-commit callbacks, and lists every frame that left through
    realtime.publish's sink, whichever way it left (they are still published): each with
    its channel, type, seq and payload `d` (a chat message item, type "m", is its own `d`).
    Assert what a service emits, not how it emits it."""
    from realtime import publish

    @contextmanager
    def capture() -> Iterator[list]:
        frames: list = []
        original = publish.sink

        def record(sent) -> None:
            frames.extend(Captured.of(item) for item in sent)

        monkeypatch.setattr(publish, "sink", record)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                yield frames
        finally:
            monkeypatch.setattr(publish, "sink", original)

    return capture


@dataclass(frozen=True)
class Captured:
    channel: str
    t: str
    seq: int
    d: Any

    @classmethod
    def of(cls, sent) -> "Captured":
        decoded = json.loads(sent.text)
        data = decoded if sent.t == "m" else decoded.get("d")
        return cls(sent.channel, sent.t, sent.seq, data)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def token_client(user: User) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
