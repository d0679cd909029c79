"""Celery tasks of predictions: thin wrappers around predictions.settlement and announce.

Settlement tasks (queue `settlement`) are idempotent (chunks only score predictions older
than the run's version; board writes are absolute and versioned), so they acknowledge late
and are re-delivered if a worker dies. Socket announcements go on `realtime`, the queue for
low-latency frame work, never behind push notifications.
"""

from celery import current_app, shared_task

from core.context import correlated
from core.metrics import RECONCILED
from core.tasks import IDEMPOTENT
from predictions import announce, leaderboard, outrights, provisional, settlement
from predictions.models import SettlementRun

POINTS_TASK = "notifications.tasks.points_task"


@shared_task(**IDEMPOTENT)
def settle_match_task(match_id: int) -> None:
    """Start the run for the match's current result version (sent by matches/effects.py)."""
    run, pending = settlement.settlement_begin(match_id=match_id)
    run_id = run.pk if run is not None else None
    with correlated(f"settlement:{run_id}"):
        for chunk_id in pending:
            settle_chunk_task.delay(chunk_id, run_id)


@shared_task(**IDEMPOTENT)
def settle_chunk_task(chunk_id: int, run_id: int | None = None) -> None:
    # The run id correlates every chunk's log lines (the reconciler re-queues without it).
    with correlated(f"settlement:{run_id}" if run_id else f"chunk:{chunk_id}"):
        outcome = settlement.settlement_chunk(chunk_id=chunk_id)
        if outcome.finished_run is not None:
            announce_run_task.delay(outcome.finished_run)


@shared_task(**IDEMPOTENT)
def announce_run_task(run_id: int) -> None:
    """A run is complete: leaderboard frames, then each fan's personal frame, by chunk."""
    for chunk_id in announce.run_boards(run_id=run_id):
        announce_fans_task.delay(chunk_id)
    # The settled figures replace the match's provisional ones.
    provisional_task.delay(SettlementRun.objects.values_list("match_id", flat=True).get(pk=run_id))


@shared_task(**IDEMPOTENT)
def outrights_task(competition_id: int) -> None:
    """A result of the competition changed (sent by matches/effects.py by name): score the
    outright picks against what is now decided (idempotent)."""
    outrights.outrights_settle(competition_id)


@shared_task(**IDEMPOTENT)
def provisional_task(match_id: int) -> None:
    """A live match's result changed (sent by matches/effects.py by name), or its
    settlement completed: provisional boards and personal frames (coalesced)."""
    provisional.provisional_changed(match_id)


@shared_task(**IDEMPOTENT)
def announce_fans_task(chunk_id: int) -> None:
    announce.chunk_fans(chunk_id=chunk_id)
    # The same fans' points as push notifications: the notifications app's job, by name.
    current_app.send_task(POINTS_TASK, args=[chunk_id])


@shared_task
def settle_reconcile_task() -> None:
    """Periodic: re-queue chunks and runs whose messages were lost."""
    for match_id in settlement.settlement_unstarted_matches():
        RECONCILED.labels("settlement_run").inc()
        settle_match_task.delay(match_id)
    for chunk_id in settlement.settlement_stale_chunks():
        RECONCILED.labels("settlement_chunk").inc()
        settle_chunk_task.delay(chunk_id)


@shared_task(**IDEMPOTENT)
def leaderboard_rebuild_task() -> None:
    """Recreate every board from PostgreSQL (started by the first read of lost boards)."""
    leaderboard.rebuild_all()
