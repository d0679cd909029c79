"""Celery tasks of the `settlement` queue: thin wrappers around predictions.settlement.

All are idempotent (chunks only score predictions older than the run's version; board writes
are absolute and versioned), so they acknowledge late and are re-delivered if a worker dies.
"""

from celery import shared_task

from livescore.tasks import IDEMPOTENT
from predictions import leaderboard, notify, settlement


@shared_task(**IDEMPOTENT)
def settle_match(match_id: int) -> None:
    _, pending = settlement.settlement_begin(match_id=match_id)
    for chunk_id in pending:
        settle_chunk.delay(chunk_id)


@shared_task(**IDEMPOTENT)
def settle_chunk(chunk_id: int) -> None:
    outcome = settlement.settlement_chunk(chunk_id=chunk_id)
    if outcome.finished_run:
        settle_announce.delay(chunk_id)


@shared_task(**IDEMPOTENT)
def settle_announce(chunk_id: int) -> None:
    """A run is complete: leaderboard frames, then each fan's personal frame, by chunk."""
    for sibling in notify.run_completed(chunk_id=chunk_id):
        notify_fans.delay(sibling)


@shared_task(**IDEMPOTENT)
def notify_fans(chunk_id: int) -> None:
    notify.chunk_fans(chunk_id=chunk_id)


@shared_task
def settle_reconcile() -> None:
    """Periodic: re-queue chunks and runs whose messages were lost."""
    for match_id in settlement.settlement_unstarted_matches():
        settle_match.delay(match_id)
    for chunk_id in settlement.settlement_stale_chunks():
        settle_chunk.delay(chunk_id)


@shared_task(**IDEMPOTENT)
def leaderboard_rebuild_task() -> None:
    """Recreate every board from PostgreSQL (started by the first read of lost boards)."""
    leaderboard.rebuild_all()
