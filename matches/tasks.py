"""Celery tasks of the `events` queue: thin wrappers around matches.feed.

The feed stores events in PostgreSQL before it answers, so a message here is only a wake-up:
losing one (a killed worker, a restarted Redis) loses no event, and the reconciler wakes the
drain again. Draining is idempotent (events are applied once, in order, under a cursor
lock), so the tasks acknowledge late and may run twice.
"""

import logging

from celery import shared_task
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from core.metrics import RECONCILED
from core.tasks import IDEMPOTENT
from matches import bracket, feed
from matches.models import Competition

logger = logging.getLogger("livescore.feed")

# A wake-up not taken by a worker within this long is dropped: the reconciler sends a fresh
# one, so a backlog of identical wake-ups never builds up behind a stuck worker.
WAKE_EXPIRES_SECONDS = 30


@shared_task(**IDEMPOTENT)
def feed_drain_task(provider: str, match_id: int) -> None:
    if feed.feed_drain(provider=provider, match_id=match_id):
        # Events wait behind a gap: look again once the gap may have timed out.
        feed_drain_task.apply_async(
            (provider, match_id),
            countdown=feed.GAP_TIMEOUT_SECONDS + 1,
            expires=feed.GAP_TIMEOUT_SECONDS + 1 + WAKE_EXPIRES_SECONDS,
        )


@shared_task
def feed_reconcile_task() -> None:
    """Periodic (beat): wake the drain of every match with stored events left pending."""
    waiting = feed.feed_waiting()
    RECONCILED.labels("feed_drain").inc(len(waiting))
    feed_wake(waiting)


def feed_wake(targets: list[tuple[str, int]]) -> bool:
    """Queue a drain per (provider, match id); False if the broker is unreachable. The events
    are stored already, so a failed wake-up only delays them until the reconciler runs."""
    try:
        for provider, match_id in targets:
            # retry=False: a feed request must not hang on a broker that is down.
            feed_drain_task.apply_async(
                (provider, match_id), expires=WAKE_EXPIRES_SECONDS, retry=False
            )
    except (KombuError, RedisError, OSError):
        logger.warning("feed wake-up not queued (reconciler will) targets=%s", targets)
        return False
    return True


@shared_task(**IDEMPOTENT)
def bracket_task(competition_id: int) -> None:
    """A result of the competition changed: fill in the knockout sides it decides (sent by
    matches/effects.py after commit; idempotent)."""
    competition = Competition.objects.filter(pk=competition_id).first()
    if competition is not None:
        bracket.bracket_resolve(competition)
