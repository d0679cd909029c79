"""The correlation id of the work in progress: set where a piece of work enters the system
(a provider event, an operator's request, a settlement run), read by every log line on its
way (a logging filter) and carried to the gateways with the frames it publishes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

correlation: ContextVar[str] = ContextVar("correlation", default="-")


@contextmanager
def correlated(cid: str) -> Iterator[None]:
    """Work under this correlation id, then back to the one before."""
    token = correlation.set(cid)
    try:
        yield
    finally:
        correlation.reset(token)


class CorrelationFilter(logging.Filter):
    """Puts the current correlation id on every record (`%(cid)s`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "cid"):
            record.cid = correlation.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (production logs, for a log pipeline to index)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "cid": getattr(record, "cid", "-"),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
