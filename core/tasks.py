"""Options shared by Celery tasks."""

from django.db import OperationalError

# For tasks proven idempotent: acknowledged after they finish (a worker killed mid-task
# leaves the message to be delivered again), retried on database hiccups with exponential
# backoff and jitter so that a failure does not become a retry storm.
IDEMPOTENT = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_jitter": True,
    "max_retries": 8,
}
