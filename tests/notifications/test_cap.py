"""The per-fan cap counts notices in the order their chunks run (notifications/digests.py)."""

import pytest
from django.utils import timezone

from core.redis import client as redis_client
from notifications import digests, effects
from notifications.models import Notice


@pytest.fixture
def sent_tasks(monkeypatch) -> list:
    sent: list = []
    monkeypatch.setattr(
        effects.current_app, "send_task", lambda name, **kw: sent.append((name, kw["args"]))
    )
    return sent


@pytest.mark.django_db
def test_a_later_goal_counted_first_still_leaves_one_push_and_a_digest(match, sent_tasks):
    redis_client().flushdb()
    now = timezone.now()
    first, second = (
        Notice.objects.create(key=f"goal:cap-{n}", kind="goal", match=match, payload={},
                              send_after=now)
        for n in (1, 2)
    )  # fmt: skip
    fans = [(7, 1), (8, 2)]  # (user id, cap)

    # The second goal's chunk runs first, then the first goal's; then a retry of each.
    assert digests.within_cap(second, fans) == {7, 8}
    assert digests.within_cap(first, fans) == {8}  # fan 7's one push went to the other goal
    assert digests.within_cap(second, fans) == {7, 8}
    assert digests.within_cap(first, fans) == {8}

    window = int(now.timestamp() // 60)
    assert redis_client().smembers(f"push:dig:{match.pk}:{window}") == {b"7"}
    assert sent_tasks == [(effects.DIGEST_TASK, [match.pk, window])]  # scheduled once
