"""Side effects of committed match changes: the one module where the match domain reaches
beyond itself.

Services call these inside their transaction, with the match locked in its new state.
- Frames go down to the wire (`realtime.publish_on_commit`), built here so each carries the
  score right after its event, with the channel's new snapshot; nothing is announced that
  did not commit.
- Push notifications: events fans can be notified of go to the notifications pipeline by
  task name after commit (its reconciler finds events whose message was lost).
- Provisional standings: a live match's result-changing events send the predictions app's
  provisional task by name after commit (an abandoned match's too, to drop its points).
- Settlement is the other upward seam kept on purpose: full time (or a later correction)
  sends the settlement task by name after commit, so this module imports nothing of the
  predictions app. If that message is lost, the settlement reconciler (beat, every 30 s)
  starts the run anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import TYPE_CHECKING

from celery import current_app
from django.db import transaction

from matches import live
from matches.frames import bracket_frame, schedule_frame
from matches.models import GOAL_KINDS, VOID_STATUSES, EventKind
from realtime.publish import publish_on_commit, reset_on_commit

if TYPE_CHECKING:
    from matches.models import Competition, Match, MatchEvent

SETTLE_TASK = "predictions.tasks.settle_match_task"
NOTIFY_TASK = "notifications.tasks.notify_events_task"
PROVISIONAL_TASK = "predictions.tasks.provisional_task"
BRACKET_TASK = "matches.tasks.bracket_task"
OUTRIGHTS_TASK = "predictions.tasks.outrights_task"
_K = EventKind
# Events that change what predictions would score if the match ended now (docs/scoring.md).
RESULT_KINDS = frozenset(
    {*GOAL_KINDS, _K.GOAL_DISALLOWED, _K.POSSESSION, _K.SHOOTOUT_KICK, _K.KICKOFF, _K.STATUS}
)
# Events that move a match between a list's sections (the schedule channel).
STATUS_KINDS = frozenset(
    {
        _K.KICKOFF, _K.PERIOD_START, _K.PERIOD_END, _K.FULL_TIME, _K.STATUS,
        _K.KICKOFF_TIME, _K.REPLAY_SCHEDULED,
    }
)  # fmt: skip
NOTIFIED_KINDS = frozenset(
    {*GOAL_KINDS, _K.RED, _K.KICKOFF, _K.PERIOD_END, _K.FULL_TIME, _K.GOAL_DISALLOWED}
)

logger = logging.getLogger("livescore.matches")

# A bulk import of finished historical matches must not announce each old event to fans.
_suppressed: ContextVar[bool] = ContextVar("match_effects_suppressed", default=False)


def enabled() -> bool:
    return not _suppressed.get()


@contextmanager
def suppressed() -> Iterator[None]:
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def match_changed(match: Match, appended: list[MatchEvent], timeline: list[MatchEvent]) -> None:
    """Announce, after commit, events just appended to a locked match (`timeline`: all its
    events, as the change read them under the lock)."""
    if not enabled():
        return
    logger.info(
        "match change match=%s seq=%s kinds=%s", match.slug, match.seq, [e.kind for e in appended]
    )
    frames = live.frames_for(match, appended)
    publish_on_commit(*frames, state=live.live_state(match, timeline))
    if any(e.kind in STATUS_KINDS for e in appended):
        publish_on_commit(schedule_frame(match))
    notified = [e.pk for e in appended if e.kind in NOTIFIED_KINDS]
    if notified:
        transaction.on_commit(partial(current_app.send_task, NOTIFY_TASK, args=[notified]))
    if (match.is_live or match.status in VOID_STATUSES) and any(
        e.kind in RESULT_KINDS for e in appended
    ):
        # Provisional standings: the predictions app's job, by name, like settlement.
        transaction.on_commit(partial(current_app.send_task, PROVISIONAL_TASK, args=[match.pk]))


def match_created(match: Match) -> None:
    """A new match may reuse the slug of a deleted one (a replay): its live state starts over."""
    if enabled():
        reset_on_commit(match.slug)


def bracket_changed(competition: Competition) -> None:
    """A knockout side was decided: clients showing the competition's bracket read it again
    (a `bracket` frame on the schedule channel, once per transaction's commit)."""
    if enabled():
        publish_on_commit(bracket_frame(competition.slug))


def result_changed(match: Match) -> None:
    """Full time, a correction after it, or a void: settle predictions for the new version."""
    if not enabled():
        return
    logger.info("result changed match=%s version=%s", match.slug, match.result_version)
    transaction.on_commit(partial(current_app.send_task, SETTLE_TASK, args=[match.pk]))
    # A result may decide knockout sides (docs/tournament.md) and outright picks (the
    # champion, the finalists, the top scorer: docs/scoring.md).
    transaction.on_commit(
        partial(current_app.send_task, OUTRIGHTS_TASK, args=[match.competition_id])
    )
    transaction.on_commit(partial(current_app.send_task, BRACKET_TASK, args=[match.competition_id]))
