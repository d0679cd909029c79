"""Celery tasks of trending (queue `realtime`): the beat's refresh every few seconds."""

from celery import shared_task

from trending.live import trending_refresh


@shared_task(ignore_result=True)
def trending_task() -> None:
    """Periodic (TRENDING_SECONDS): score the live matches, publish the order if it changed.
    Idempotent: each run recomputes everything from the current state."""
    trending_refresh()
