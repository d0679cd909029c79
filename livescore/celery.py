import os
from typing import Any

from celery import Celery
from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    task_failure,
    task_retry,
    worker_init,
    worker_process_init,
)

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


@after_setup_logger.connect
@after_setup_task_logger.connect
def _with_correlation(logger: Any = None, **kwargs: Any) -> None:
    """Celery sets up its own log handlers: give them the correlation id too."""
    from core.context import CorrelationFilter

    for handler in logger.handlers if logger is not None else []:
        handler.addFilter(CorrelationFilter())


@worker_process_init.connect
def _traced(**kwargs: Any) -> None:
    """Tracing (when OTEL_ variables ask for it) in each pool process: span exporters run a
    thread, which a fork does not carry over."""
    from core import tracing

    tracing.setup("livescore-worker")


@worker_init.connect
def _yield_cpu(**kwargs: Any) -> None:
    """CELERY_WORKER_NICE: a background worker (settlement, notifications, provisional
    standings) lowers its CPU priority, and its pool processes inherit it. Where it shares
    cores with the score path (gateways, the events worker) a goal then never waits for a
    settlement chunk or a push batch (docs/operations.md, "The goal moment")."""
    from django.conf import settings

    if settings.CELERY_WORKER_NICE:
        os.nice(settings.CELERY_WORKER_NICE)
