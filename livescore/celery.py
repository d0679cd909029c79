import os
from typing import Any

from celery import Celery
from celery.signals import task_failure, task_retry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")

app = Celery("livescore")
app.config_from_object("celeryconfig")
app.autodiscover_tasks()


def _count(kind: str, sender: Any, request: Any) -> None:
    from core.metrics import TASK_PROBLEMS

    queue = ((getattr(request, "delivery_info", None) or {}).get("routing_key")) or "?"
    TASK_PROBLEMS.labels(queue, getattr(sender, "name", "?"), kind).inc()


@task_failure.connect
def _failed(sender: Any = None, **kwargs: Any) -> None:
    _count("failure", sender, getattr(sender, "request", None))


@task_retry.connect
def _retried(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
    _count("retry", sender, request)
