"""Channel names (`match:<slug>`, `user:<id>`, ...) and the Redis keys behind them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERNS = {
    "match": re.compile(r"match:([a-z0-9-]{3,64})"),
    "chat": re.compile(r"chat:room:(\d{1,12})"),
    "prediction": re.compile(r"prediction:(global)"),
    "leaderboard": re.compile(r"leaderboard:([a-z0-9:-]{1,64})"),
    "user": re.compile(r"user:(\d{1,12})"),
}


@dataclass(frozen=True)
class Channel:
    name: str
    kind: str
    key: str  # the slug, id or scope inside the name

    @property
    def private(self) -> bool:
        return self.kind == "user"

    @property
    def pubsub(self) -> str:
        """The Redis pub/sub channel carrying this channel's frames."""
        return f"rt:{self.name}"


def parse_channel(name: object) -> Channel | None:
    if not isinstance(name, str) or len(name) > 80:
        return None
    for kind, pattern in _PATTERNS.items():
        found = pattern.fullmatch(name)
        if found:
            return Channel(name=name, kind=kind, key=found.group(1))
    return None


def match_channel(slug: str) -> str:
    return f"match:{slug}"


# Redis keys of a match's live state (all derived; `rebuild_live_state` recreates them).
def snapshot_key(slug: str) -> str:
    return f"live:m:{slug}:snap"


def timeline_key(slug: str) -> str:
    return f"live:m:{slug}:tl"


def presence_key(slug: str) -> str:
    return f"live:m:{slug}:watch"


LIVE_INDEX_KEY = "live:index"  # sorted set: live match slugs by kickoff time
