"""Celery tasks of the notifications pipeline (queue `notifications`): thin wrappers around
notices, delivery and digests. All idempotent: notices are unique by key, chunk progress is
in PostgreSQL and each device's claim in Redis, so they acknowledge late and a killed
worker's message is delivered again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from celery import shared_task

from core.context import correlated
from core.metrics import RECONCILED
from core.tasks import IDEMPOTENT
from notifications import delivery, digests, notices, personal
from notifications.models import Notice, NoticeChunk
from predictions.models import SettlementChunk

logger = logging.getLogger("livescore.notifications")


def gone_is_done(task: Callable[..., None]) -> Callable[..., None]:
    """A notice, chunk or settlement chunk deleted meanwhile (its match was deleted, a replay
    re-created under its slug) leaves nothing to send: the task ends quietly."""

    @wraps(task)
    def run(*args: Any) -> None:
        try:
            task(*args)
        except (Notice.DoesNotExist, NoticeChunk.DoesNotExist, SettlementChunk.DoesNotExist):
            logger.info("%s%s: nothing left to send", task.__name__, args)

    return run


@shared_task(**IDEMPOTENT)
def notify_events_task(event_ids: list[int]) -> None:
    """Sent by matches/effects.py after a match change commits."""
    for due in notices.notices_from_events(event_ids):
        notice_release_task.apply_async([due.notice_id], countdown=due.countdown)


@shared_task(**IDEMPOTENT)
@gone_is_done
def notice_release_task(notice_id: int) -> None:
    with correlated(f"notice:{notice_id}"):
        wait, chunks = notices.notice_release(notice_id)
        if wait is not None:  # early (a clock skew between hosts): come back when it is due
            notice_release_task.apply_async([notice_id], countdown=wait)
        _queue(chunks)


def _queue(chunks: list[NoticeChunk]) -> None:
    for chunk in chunks:
        notice_chunk_task.apply_async([chunk.pk], countdown=chunk.delay or None)


@shared_task(**IDEMPOTENT)
@gone_is_done
def notice_chunk_task(chunk_id: int) -> None:
    with correlated(f"notice-chunk:{chunk_id}"):
        result = delivery.send_chunk(chunk_id)
        if result.retry_in is not None:
            notice_chunk_task.apply_async([chunk_id], countdown=result.retry_in)


@shared_task(**IDEMPOTENT)
def digest_task(match_id: int, window: int) -> None:
    """A cap window ended: one digest to every fan whose pushes went over it."""
    _, chunks = digests.digest_notice(match_id, window)
    _queue(chunks)


@shared_task(**IDEMPOTENT)
@gone_is_done
def points_task(settlement_chunk_id: int) -> None:
    """Sent by predictions after a settlement chunk's fans were told on their sockets."""
    _queue([personal.points_chunk(settlement_chunk_id)])


@shared_task
def reminders_task() -> None:
    """Periodic: reminders before the prediction lock whose time has come."""
    for notice_id in personal.reminders_due():
        notice_release_task.delay(notice_id)


@shared_task
def notify_reconcile_task() -> None:
    """Periodic: release held notices whose release message was lost, and send chunks a
    killed worker left behind (their claims keep devices from getting a push twice)."""
    lost = notices.events_without_notices()
    if lost:
        RECONCILED.labels("notice_events").inc(len(lost))
        notify_events_task.delay(lost)
    for due in notices.notices_due():
        RECONCILED.labels("notice").inc()
        notice_release_task.delay(due.notice_id)
    for chunk_id in delivery.stale_chunks():
        RECONCILED.labels("notice_chunk").inc()
        notice_chunk_task.delay(chunk_id)
