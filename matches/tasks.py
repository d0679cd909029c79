"""Celery tasks of the `events` queue: thin wrappers around matches.feed.

Both are idempotent (events are stored once by provider id and applied under a cursor), so
they acknowledge late: a worker killed mid-task leaves the message to be delivered again.
"""

from celery import shared_task

from livescore.tasks import IDEMPOTENT
from matches import feed


@shared_task(**IDEMPOTENT)
def feed_ingest(provider: str, events: list[dict]) -> None:
    for match_id in sorted(feed.feed_store(provider=provider, events=events)):
        feed_drain.run(provider, match_id)


@shared_task(**IDEMPOTENT)
def feed_drain(provider: str, match_id: int) -> None:
    if feed.feed_drain(provider=provider, match_id=match_id):
        # Events wait behind a gap: look again once the gap may have timed out.
        feed_drain.apply_async((provider, match_id), countdown=feed.GAP_TIMEOUT_SECONDS + 1)
