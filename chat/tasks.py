"""Celery tasks of chat, on the `realtime` queue (short, latency-sensitive).

`chat_flush_task` runs every second (beat): it persists the messages accepted since the
last run in batches, records filter refusals, and announces rooms whose automatic slow mode
ran out. It is idempotent (inserts ignore rows already stored) and single-flight (a lock),
so a duplicated or re-delivered run changes nothing.
"""

from celery import shared_task

from chat import persistence
from core.tasks import IDEMPOTENT


@shared_task(**IDEMPOTENT)
def chat_flush_task() -> int:
    moved = persistence.pending_flush()
    persistence.rooms_calm()
    return moved
