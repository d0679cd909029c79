"""Channel names (`match:<slug>`, `user:<id>`, ...), their builders, and the Redis names
behind them. The one module that knows how a channel is spelled on the wire and in Redis
(the `rt:` pub/sub prefix is written here only)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

from core.redis import live_url

_PATTERNS = {
    "match": re.compile(r"match:([a-z0-9-]{3,64})"),
    "chat": re.compile(r"chat:room:(\d{1,12})"),
    "prediction": re.compile(r"prediction:(global)"),
    "leaderboard": re.compile(r"leaderboard:([a-z0-9:-]{1,64})"),
    "user": re.compile(r"user:(\d{1,12})"),
    "trending": re.compile(r"(trending)"),
    "schedule": re.compile(r"(schedule)"),
}
TRENDING_CHANNEL = "trending"
# Every match's status changes (kick-off, full time, postponed, the shootout's result): what
# a list of matches needs to move rows between "upcoming", "live" and "results".
SCHEDULE_CHANNEL = "schedule"
PUBSUB_PREFIX = "rt:"


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
        return pubsub_name(self.name)


def parse_channel(name: object) -> Channel | None:
    if not isinstance(name, str) or len(name) > 80:
        return None
    for kind, pattern in _PATTERNS.items():
        found = pattern.fullmatch(name)
        if found:
            return Channel(name=name, kind=kind, key=found.group(1))
    return None


# ---- builders: every channel name is spelled by one of these -------------------------------


def match_channel(slug: str) -> str:
    return f"match:{slug}"


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


def chat_channel(room_id: int) -> str:
    return f"chat:room:{room_id}"


def chat_shard(room_id: int, shard: int) -> Channel:
    """One shard of a chat room: the stream a bounded share of the room's listeners reads
    (docs/chat.md). Never on the wire: its frames say `chat:room:<id>`."""
    return Channel(name=f"chat:room:{room_id}:s{shard}", kind="chat", key=str(room_id))


def leaderboard_channel(scope: str) -> str:
    """`scope` as predictions.leaderboard builds it: global, match:<slug>, league:<id>."""
    return f"leaderboard:{scope}"


# ---- Redis names ---------------------------------------------------------------------------


def pubsub_name(channel: str) -> str:
    """The Redis pub/sub channel of a wire channel (or of a gateway's control channel)."""
    return f"{PUBSUB_PREFIX}{channel}"


def redis_url_of(channel: str) -> str:
    """The Redis server carrying a wire channel: a match's live-state shard (its snapshot
    and timeline are on the same server, so they are stored and published in one atomic
    step), REDIS_URL for every other channel and for gateways' control channels."""
    found = _PATTERNS["match"].fullmatch(channel)
    if found is None:
        return settings.REDIS_URL
    return live_url(found.group(1))


def channel_of_pubsub(pubsub: str) -> str:
    return pubsub.removeprefix(PUBSUB_PREFIX)


def wire_channel(name: str) -> str:
    """The channel a frame names on the wire: a chat shard's frames are the room's."""
    if name.startswith("chat:room:") and ":s" in name:
        return name.rsplit(":s", 1)[0]
    return name


def chat_shard_prefix(room_id: int) -> str:
    """The pub/sub names of a room's shards are this followed by the shard's number (what
    chat's scripts, which pick the shard inside Redis, are given)."""
    return chat_shard(room_id, 0).pubsub.removesuffix("0")


def control_channel(gateway_id: str) -> str:
    """Where a gateway process hears commands for its own sockets (evictions)."""
    return pubsub_name(f"ctl:{gateway_id}")


# A sequenced channel (a match) keeps its latest snapshot and its recent frames in Redis, so
# subscribers get a snapshot and resumes (`since`) are served from the timeline. All derived:
# the domain that owns the channel rebuilds it.
def snapshot_key(slug: str) -> str:
    return f"live:m:{slug}:snap"


def timeline_key(slug: str) -> str:
    return f"live:m:{slug}:tl"


def presence_key(slug: str) -> str:
    return f"live:m:{slug}:watch"


def seen_key(slug: str, seq: int) -> str:
    """The signed-in fans whose sockets were written a match frame (goals and cards): their
    push for the same event is skipped (docs/notifications.md). Expires after SEEN_TTL."""
    return f"live:m:{slug}:seen:{seq}"


SEEN_TTL = 900

# sorted set: live match slugs by kickoff time, on each live-state shard for its matches
LIVE_INDEX_KEY = "live:index"
