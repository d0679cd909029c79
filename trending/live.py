"""Trending matches: the signals of every live match read from Redis, scored, stored in one
sorted set and pushed on the `trending` channel when the order changes."""

from __future__ import annotations

import json
import logging
from typing import Any, NotRequired, TypedDict, cast

import redis

from chat.live import recent_rates
from chat.selectors import match_rooms
from core.redis import client, live_clients
from realtime.channels import LIVE_INDEX_KEY, TRENDING_CHANNEL, presence_key, snapshot_key
from realtime.frames import Frame
from realtime.publish import publish_now
from trending.excitement import Signals, excitement

logger = logging.getLogger("livescore.trending")
TRENDING_KEY = "trending:score"  # sorted set: live match slug -> excitement
SUMMARY_KEY = "trending:summary"  # hash: slug -> {"h","a","s","m","x"} as JSON
LAST_KEY = "trending:last"  # the order last published
TOP = 20
GOAL_FRAMES = frozenset({"goal"})
VAR_FRAMES = frozenset({"var", "disallow"})


class Trending(TypedDict):
    """One row of `trend` on `trending` (docs/protocol.md): the match, its teams, score,
    minute, watchers and excitement."""

    slug: str
    h: NotRequired[str]
    a: NotRequired[str]
    s: list[int]
    m: NotRequired[int]
    w: int
    x: float


def trending_frame(top: list[Trending]) -> Frame:
    return Frame(TRENDING_CHANNEL, "trend", {"m": top})


def _signals(snapshot: dict[str, Any], watchers: int, chat_rate: float) -> Signals:
    events = snapshot.get("ev") or []
    disallowed = {e.get("ref") for e in events if e.get("t") == "disallow"}
    return Signals(
        watchers=watchers,
        chat_per_second=chat_rate,
        score=tuple(snapshot.get("s") or (0, 0)),
        minute=int(snapshot.get("m") or 0),
        goal_minutes=[
            int(e.get("m") or 0)
            for e in events
            if e.get("t") in GOAL_FRAMES and e.get("seq") not in disallowed
        ],
        var_minutes=[int(e.get("m") or 0) for e in events if e.get("t") in VAR_FRAMES],
    )


def trending_refresh() -> list[str]:
    """Score every live match; store the board; publish it if the order changed. Returns
    the slugs, most exciting first."""
    r = client()
    snapshots = _live_snapshots()
    slugs = list(snapshots)
    rooms = match_rooms(slugs)
    pipe = r.pipeline(transaction=False)
    for slug in slugs:
        pipe.hvals(presence_key(slug))
    watching = pipe.execute()
    rates = recent_rates(r, [rooms.get(slug) for slug in slugs])
    scored: dict[str, float] = {}
    summary: dict[str, str] = {}
    for i, slug in enumerate(slugs):
        text, counts = snapshots[slug], watching[i]
        if not text:
            continue
        snapshot = json.loads(text).get("d") or {}
        signals = _signals(snapshot, sum(int(c) for c in counts), rates[i])
        scored[slug] = excitement(signals)
        summary[slug] = json.dumps(
            {"h": snapshot.get("h"), "a": snapshot.get("a"), "s": list(signals.score),
             "m": signals.minute, "w": signals.watchers, "x": scored[slug]},
            separators=(",", ":"),
        )  # fmt: skip
    order = sorted(scored, key=lambda s: (-scored[s], s))[:TOP]
    pipe = r.pipeline(transaction=True)
    pipe.delete(TRENDING_KEY, SUMMARY_KEY)
    if scored:
        pipe.zadd(TRENDING_KEY, scored)
        pipe.hset(SUMMARY_KEY, mapping=summary)  # type: ignore[arg-type]  # invariant key type
    pipe.getset(LAST_KEY, ",".join(order))
    *_, last = pipe.execute()
    if (last or b"").decode() != ",".join(order):
        top = [cast(Trending, {"slug": s, **json.loads(summary[s])}) for s in order]
        publish_now(trending_frame(top))
    return order


def _live_snapshots() -> dict[str, bytes | None]:
    """Each live match's stored snapshot text, read from the live-state shards (each keeps
    the index of its own matches)."""
    found: dict[str, bytes | None] = {}
    for shard in live_clients():
        try:
            # a sync client answers bytes; the stubs type every reply shape at once
            slugs = [s.decode() for s in shard.zrange(LIVE_INDEX_KEY, 0, -1)]  # type: ignore[union-attr]
            pipe = shard.pipeline(transaction=False)
            for slug in slugs:
                pipe.hget(snapshot_key(slug), "text")
            found.update(zip(slugs, pipe.execute(), strict=True))
        except redis.RedisError:
            # A shard down leaves its matches out of this beat's board, not every match.
            logger.warning("trending: a live-state shard is unreachable", exc_info=True)
    return found


def trending_list(n: int = TOP) -> list[dict[str, Any]]:
    """The stored board, most exciting first (what REST serves)."""
    stored: dict[bytes, bytes] = client().hgetall(SUMMARY_KEY)  # type: ignore[assignment]  # bytes
    rows = [{"slug": s.decode(), **json.loads(v)} for s, v in stored.items()]
    return sorted(rows, key=lambda row: (-row["x"], row["slug"]))[:n]
