"""Side effects of committed match changes.

Services schedule `event_committed` with `transaction.on_commit`, so it only ever sees
committed rows. It is the single hook where publishing and settlement attach.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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


def event_committed(match_id: int, event_id: int) -> None:
    logger.info("match event committed match=%s event=%s", match_id, event_id)
