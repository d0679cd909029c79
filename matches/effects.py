"""Side effects of committed match changes.

Services call `match_changed` inside their transaction, with the match in its new state; the
frames are built there (so each carries the score right after its event) and handed to
`transaction.on_commit`, so nothing is announced that did not commit. This is the single hook
where publishing and settlement attach.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction

if TYPE_CHECKING:
    from matches.models import Match, MatchEvent

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


def match_changed(match: Match, appended: list[MatchEvent]) -> None:
    """Schedule the after-commit effects of events just appended to a locked match."""
    if not enabled():
        return
    from realtime import publish
    from realtime.events import MatchState, event_frame

    state = MatchState.of(match)
    frames = [event_frame(match.slug, event, state) for event in appended]
    logger.info(
        "match change match=%s seq=%s kinds=%s", match.slug, match.seq, [e.kind for e in appended]
    )
    transaction.on_commit(partial(publish.match_changed, match.pk, frames))


def match_created(match: Match) -> None:
    """A new match may reuse the slug of a deleted one (a replay): its live state starts over."""
    if not enabled():
        return
    from realtime import publish

    transaction.on_commit(partial(publish.match_reset, match.slug))


def result_changed(match: Match) -> None:
    """Full time, a correction after it, or a void: settle predictions for the new version."""
    if not enabled():
        return
    from predictions.tasks import settle_match

    logger.info("result changed match=%s version=%s", match.slug, match.result_version)
    transaction.on_commit(partial(settle_match.delay, match.pk))
