"""The one way a frame leaves the application: `publish_on_commit`.

Domain services call it inside their transaction; the frames go out once it commits (outside
a transaction, at once), so nothing is announced that did not commit. Each frame is
published once on its channel's Redis pub/sub channel; every gateway process holds one
subscription per channel and writes the text, unchanged, to its own sockets.

A sequenced channel (a match) also keeps state in Redis for the gateway: the recent frames
(resume with `since`) and the latest snapshot. Its frames are published with the snapshot
(`LiveState`) in one atomic step. All of it is derived from PostgreSQL; the owning domain
rebuilds it (`replace_state`).

Redis being down never fails the request or task that committed the change: the error is
logged, and the next change or a rebuild repairs the state; clients resume by seq.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, partial

import redis
from django.db import transaction

from core.context import correlation
from core.redis import client, live_client
from realtime import channels
from realtime.frames import Frame, reset_frame
from realtime.protocol import TIMELINE_LENGTH

logger = logging.getLogger("livescore.realtime")
CORRELATION_MARK = "\x1e"  # ASCII record separator: never the first character of a frame

# KEYS: snapshot hash, timeline zset, live index
# ARGV: slug, snapshot seq, snapshot text, live (1/0), kickoff epoch, timeline length,
#       then (seq, frame text, pubsub channel, published text) for each frame
_STORE_AND_PUBLISH = """
local current = tonumber(redis.call('HGET', KEYS[1], 'seq') or '-1')
local seq = tonumber(ARGV[2])
if seq >= current then
  redis.call('HSET', KEYS[1], 'seq', seq, 'text', ARGV[3])
end
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
else
  redis.call('ZREM', KEYS[3], ARGV[1])
end
for i = 7, #ARGV, 4 do
  local frame_seq = tonumber(ARGV[i])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], frame_seq, frame_seq)
  redis.call('ZADD', KEYS[2], frame_seq, ARGV[i + 1])
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[6]) + 1))
for i = 7, #ARGV, 4 do
  redis.call('PUBLISH', ARGV[i + 2], ARGV[i + 3])
end
return seq >= current and 1 or 0
"""


@dataclass(frozen=True)
class LiveState:
    """A sequenced channel's state after its new frames: the snapshot a subscriber gets and
    whether it belongs in the index of live matches (by kick-off)."""

    slug: str
    seq: int
    snapshot: str
    live: bool
    kickoff: int  # unix seconds


def publish_on_commit(*frames: Frame, state: LiveState | None = None) -> None:
    """Publish `frames` once the current transaction commits (at once outside one). With
    `state`, the frames of a sequenced channel are stored in its timeline and the snapshot
    replaced (unless a newer one is stored), in the same atomic step as the publish."""
    transaction.on_commit(partial(publish_now, *frames, state=state))


def publish_now(*frames: Frame, state: LiveState | None = None) -> None:
    """What `publish_on_commit` runs after the commit. Producers call `publish_on_commit`;
    this is for code with no transaction and no database at all (bench/fanout.py)."""
    try:
        if state is not None:
            _store_and_publish(frames, state)
            return
        by_server: dict[str, list[Frame]] = {}
        for frame in frames:
            by_server.setdefault(channels.redis_url_of(frame.channel), []).append(frame)
        for url, group in by_server.items():
            pipe = client(url).pipeline(transaction=False)
            for frame in group:
                pipe.publish(channels.pubsub_name(frame.channel), published(frame.text))
            pipe.execute()
    except redis.RedisError:
        logger.exception("frames not published channels=%s", sorted({f.channel for f in frames}))


def published(text: str) -> str:
    """A frame as published to the gateways: with the correlation id of the work that made
    it in front (CORRELATION_MARK, id, CORRELATION_MARK), which the gateway logs and strips;
    the timeline and the sockets get the frame alone."""
    cid = correlation.get()
    return text if cid == "-" else f"{CORRELATION_MARK}{cid}{CORRELATION_MARK}{text}"


@cache
def _script(shard: redis.Redis) -> redis.commands.core.Script:
    return shard.register_script(_STORE_AND_PUBLISH)


def _store_and_publish(frames: Sequence[Frame], state: LiveState) -> None:
    args: list[str | int] = [
        state.slug,
        state.seq,
        state.snapshot,
        int(state.live),
        state.kickoff,
        TIMELINE_LENGTH,
    ]
    for frame in frames:
        args += [frame.seq, frame.text, channels.pubsub_name(frame.channel), published(frame.text)]
    keys = [
        channels.snapshot_key(state.slug),
        channels.timeline_key(state.slug),
        channels.LIVE_INDEX_KEY,
    ]
    _script(live_client(state.slug))(keys=keys, args=args)


def replace_state(state: LiveState, timeline: Sequence[Frame]) -> None:
    """Replace a sequenced channel's stored state in one MULTI, publishing nothing: a rebuild
    must not re-announce old frames."""
    snap, tl = channels.snapshot_key(state.slug), channels.timeline_key(state.slug)
    pipe = live_client(state.slug).pipeline(transaction=True)
    pipe.delete(tl, snap)
    pipe.hset(snap, mapping={"seq": state.seq, "text": state.snapshot})
    if timeline:
        pipe.zadd(tl, {f.text: f.seq for f in timeline[-TIMELINE_LENGTH:]})
    if state.live:
        pipe.zadd(channels.LIVE_INDEX_KEY, {state.slug: state.kickoff})
    else:
        pipe.zrem(channels.LIVE_INDEX_KEY, state.slug)
    pipe.execute()


def stored_snapshot(slug: str) -> tuple[int, str] | None:
    """(seq, snapshot text) as stored for a sequenced channel, or None."""
    seq, text = live_client(slug).hmget(channels.snapshot_key(slug), ["seq", "text"])
    return stored_pair(seq, text)


def stored_pair(seq: object, text: object) -> tuple[int, str] | None:
    """A snapshot hash's (seq, text) fields as read from Redis (bytes), or None if absent."""
    if not isinstance(seq, bytes) or not isinstance(text, bytes):
        return None
    return int(seq), text.decode()


def reset_on_commit(slug: str) -> None:
    """After commit: forget a sequenced channel's state and tell gateways and clients its seq
    starts over (the object behind it was re-created)."""
    transaction.on_commit(partial(_reset, slug))


def _reset(slug: str) -> None:
    channel = channels.match_channel(slug)
    try:
        pipe = live_client(slug).pipeline(transaction=True)
        pipe.delete(channels.snapshot_key(slug), channels.timeline_key(slug))
        pipe.zrem(channels.LIVE_INDEX_KEY, slug)
        pipe.publish(channels.pubsub_name(channel), reset_frame(channel).text)
        pipe.execute()
    except redis.RedisError:
        logger.exception("live state not reset match=%s", slug)
