"""Celery tasks of the social app, on the `realtime` queue (short).

`reactions_flush_task` runs every second (beat): it writes the reactions queued in Redis to
PostgreSQL in batches. Idempotent (the newest per fan and moment wins, whichever run writes
it) and single-flight (a lock). `reactions_publish_task`, every second too, sends the `rx`
frames of the moments whose counts changed; a lost run only delays counts that the next
change, or the client's REST read on opening the match, brings anyway."""

from celery import shared_task

from core.tasks import IDEMPOTENT
from social import reactions


@shared_task(**IDEMPOTENT)
def reactions_flush_task() -> int:
    return reactions.reactions_flush()


@shared_task(**IDEMPOTENT)
def reactions_publish_task() -> int:
    return reactions.reactions_publish()
