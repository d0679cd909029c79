"""The tasks notifications' own services schedule, named here (the pipeline's modules import
no tasks module: notifications/tasks.py imports them)."""

from __future__ import annotations

from celery import current_app

DIGEST_TASK = "notifications.tasks.digest_task"


def digest_schedule(match_id: int, window: int, countdown: float) -> None:
    """Send the digest of a match's capped window once the window has closed."""
    current_app.send_task(DIGEST_TASK, args=[match_id, window], countdown=countdown)
