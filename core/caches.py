"""A small per-process cache with a time to live, for hot lookups that may lag a little
(API tokens, display names): a dict with deadlines, cleared whole when it grows too large."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(self, seconds: float, max_entries: int) -> None:
        self.seconds, self.max_entries = seconds, max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K, *, stale_for: float = 0.0) -> tuple[bool, V | None]:
        """(found, value); `stale_for` also accepts an entry expired that long ago."""
        hit = self._entries.get(key)
        if hit is None or hit[0] + stale_for <= time.monotonic():
            return False, None
        return True, hit[1]

    def set(self, key: K, value: V) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.seconds, value)

    def clear(self) -> None:
        self._entries.clear()
