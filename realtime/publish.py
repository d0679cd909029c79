"""The one owner of publishing: every frame leaves the application through this module.

Domain services call `publish_on_commit` inside their transaction; the frames go out once it
commits (outside a transaction, at once), so nothing is announced that did not commit. Each
frame is published once, in its envelope (realtime/wire.py), on its channel's Redis pub/sub
channel; every gateway process holds one subscription per channel and writes the text,
unchanged, to its own sockets.

The other ways out are here too, each for a reason: `publish_packed` for producers of
hundreds of thousands of small frames at once (provisional standings), `WireScript` for Lua
scripts that publish inside their own atomic step (chat), `command_gateway` for a gateway's
control channel (evictions). All of them report every frame to `sink`, the one function the
tests' `capture_frames` patches.

A sequenced channel (a match) also keeps state in Redis for the gateway: the recent frames
(resume with `since`) and the latest snapshot, with its watcher slot (where the gateway puts
the live watcher count without decoding). Its frames are published with the snapshot
(`LiveState`) in one atomic step. All of it is derived from PostgreSQL; the owning domain
rebuilds it (`replace_state`).

Redis being down never fails the request or task that committed the change: the error is
logged, and the next change or a rebuild repairs the state; clients resume by seq.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any, NamedTuple

import redis
import redis.asyncio as aioredis
from django.db import transaction

from core.redis import client, live_client
from realtime import channels, wire
from realtime.frames import Frame, FrameType, reset_frame
from realtime.protocol import TIMELINE_LENGTH

logger = logging.getLogger("livescore.realtime")


class Sent(NamedTuple):
    """One frame as it left: its wire channel, type, seq (0: none) and text."""

    channel: str
    t: str
    seq: int
    text: str


def sink(sent: Iterable[Sent]) -> None:
    """Every frame that leaves passes here (just before Redis gets it, or just after, for a
    frame a script published). Nothing to do in production, where `sent` is a generator
    nobody runs (a goal's provisional standings are 250,000 frames): tests patch it to see
    what a piece of code emits, whichever way it emits it."""


_QUIET_SINK = sink  # patched away: someone watches, so scripts report what they published


# KEYS: snapshot hash, timeline zset, live index
# ARGV: slug, snapshot seq, snapshot text, watcher slot, live (1/0), kickoff epoch, timeline
#       length, then (seq, frame text, pubsub channel, type) for each frame
_STORE_AND_PUBLISH = """
local current = tonumber(redis.call('HGET', KEYS[1], 'seq') or '-1')
local seq = tonumber(ARGV[2])
if seq >= current then
  redis.call('HSET', KEYS[1], 'seq', seq, 'text', ARGV[3], 'slot', ARGV[4])
end
if ARGV[5] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
else
  redis.call('ZREM', KEYS[3], ARGV[1])
end
for i = 8, #ARGV, 4 do
  local frame_seq = tonumber(ARGV[i])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], frame_seq, frame_seq)
  redis.call('ZADD', KEYS[2], frame_seq, ARGV[i + 3] .. '\\30' .. ARGV[i + 1])
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[7]) + 1))
for i = 8, #ARGV, 4 do
  emit(ARGV[i + 2], ARGV[i + 3], ARGV[i], 0, ARGV[i + 1])
end
return seq >= current and 1 or 0
"""


@dataclass(frozen=True)
class LiveState:
    """A sequenced channel's state after its new frames: the snapshot a subscriber gets and
    whether it belongs in the index of live matches (by kick-off)."""

    slug: str
    seq: int
    snapshot: Frame
    live: bool
    kickoff: int  # unix seconds


class Stored(NamedTuple):
    """A sequenced channel's stored snapshot: seq, text, and the watcher slot (the offset in
    `text` where the gateway writes `"w":<count>,`; -1 when unknown)."""

    seq: int
    text: str
    slot: int


def publish_on_commit(*frames: Frame, state: LiveState | None = None) -> None:
    """Publish `frames` once the current transaction commits (at once outside one). With
    `state`, the frames of a sequenced channel are stored in its timeline and the snapshot
    replaced (unless a newer one is stored), in the same atomic step as the publish."""
    transaction.on_commit(partial(publish_now, *frames, state=state))


def publish_now(*frames: Frame, state: LiveState | None = None) -> None:
    """What `publish_on_commit` runs after the commit: for work with no transaction (a
    periodic task, a benchmark) it is the same thing."""
    try:
        if state is not None:
            _store_and_publish(frames, state)  # the script reports its frames to the sink
            return
        sink(Sent(f.channel, f.t, f.seq, f.text) for f in frames)
        by_server: dict[str, list[Frame]] = {}
        for frame in frames:
            by_server.setdefault(channels.redis_url_of(frame.channel), []).append(frame)
        for url, group in by_server.items():
            pipe = client(url).pipeline(transaction=False)
            for frame in group:
                pipe.publish(channels.pubsub_name(frame.channel), sealed(frame))
            pipe.execute()
    except redis.RedisError:
        logger.exception("frames not published channels=%s", sorted({f.channel for f in frames}))


def sealed(frame: Frame) -> str:
    """A frame in its envelope, as published to the gateways."""
    return wire.seal(frame.t, frame.text, frame.seq)


def publish_packed(t: FrameType, frames: Sequence[tuple[str, str]], batch: int = 10_000) -> None:
    """Publish many unsequenced frames of one type, (channel, text) pairs, on REDIS_URL's
    server, encoded here straight to Redis' wire protocol.

    For the few producers that publish hundreds of thousands of small frames at once
    (provisional standings after a goal): redis-py's pipeline spends ~6 µs of Python per
    command building it, five times what Redis needs to serve it. Replies are read and
    discarded (the number of receivers)."""
    sink(Sent(channel, t, 0, text) for channel, text in frames)
    head = wire.header(t)
    prefix = channels.PUBSUB_PREFIX
    messages = [
        (f"{prefix}{channel}".encode(), f"{head}{text}".encode()) for channel, text in frames
    ]
    pool = client().connection_pool
    connection = pool.get_connection()
    try:
        for start in range(0, len(messages), batch):
            part = messages[start : start + batch]
            packed = b"".join(
                b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"
                % (len(channel), channel, len(message), message)
                for channel, message in part
            )
            connection.send_packed_command([packed])
            for _ in part:
                connection.read_response()
    except BaseException:
        # A half-read reply stream must never go back to the pool.
        connection.disconnect()
        raise
    finally:
        pool.release(connection)


class WireScript:
    """A Lua script that publishes frames inside its atomic step (`wire.script` wraps its
    body): run with the correlation id as its last argument; the frames it published go to
    the sink and the body's own reply is returned (the frames only travel back from Redis
    when the sink is watched). Works on a sync or an asyncio client (then the call is
    awaitable)."""

    def __init__(self, redis_client: redis.Redis | aioredis.Redis, body: str) -> None:
        self._script = redis_client.register_script(wire.script(body))
        self._async = isinstance(redis_client, aioredis.Redis)

    def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        argv = [*args, "0" if sink is _QUIET_SINK else "1", wire.current_cid()]
        if self._async:
            return self._run_async(keys, argv)
        reply: list[Any] = self._script(keys=keys, args=argv)  # type: ignore[assignment]  # sync
        return _reported(reply)

    async def _run_async(self, keys: Sequence[Any], argv: list[Any]) -> Any:
        reply: Awaitable[Any] = self._script(keys=keys, args=argv)
        return _reported(await reply)


def _reported(reply: list[Any]) -> Any:
    """The body's reply of a wrapped script, after its published frames went to the sink."""
    body, sent = reply
    if sent:
        sink(_sent(*sent[i : i + 4]) for i in range(0, len(sent), 4))
    return body


def _sent(pubsub: bytes, t: bytes, seq: bytes, text: bytes) -> Sent:
    channel = channels.wire_channel(channels.channel_of_pubsub(pubsub.decode()))
    return Sent(channel, t.decode(), int(seq), text.decode())


async def command_gateway(redis_client: aioredis.Redis, gateway_id: str, command: str) -> None:
    """Tell one gateway process a command for its own sockets (`evict <conn id>`)."""
    await redis_client.publish(channels.control_channel(gateway_id), command)


@cache
def _script(shard: redis.Redis) -> WireScript:
    return WireScript(shard, _STORE_AND_PUBLISH)


def _store_and_publish(frames: Sequence[Frame], state: LiveState) -> None:
    snapshot = state.snapshot
    args: list[str | int] = [
        state.slug,
        state.seq,
        snapshot.text,
        snapshot.slot,
        int(state.live),
        state.kickoff,
        TIMELINE_LENGTH,
    ]
    for frame in frames:
        args += [frame.seq, frame.text, channels.pubsub_name(frame.channel), frame.t]
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
    snapshot = state.snapshot
    pipe.hset(snap, mapping={"seq": state.seq, "text": snapshot.text, "slot": snapshot.slot})
    if timeline:
        pipe.zadd(
            tl, {wire.timeline_member(f.t, f.text): f.seq for f in timeline[-TIMELINE_LENGTH:]}
        )
    if state.live:
        pipe.zadd(channels.LIVE_INDEX_KEY, {state.slug: state.kickoff})
    else:
        pipe.zrem(channels.LIVE_INDEX_KEY, state.slug)
    pipe.execute()


SNAPSHOT_FIELDS = ("seq", "text", "slot")


def stored_snapshot(slug: str) -> Stored | None:
    """A sequenced channel's stored snapshot, or None."""
    return stored_from(live_client(slug).hmget(channels.snapshot_key(slug), SNAPSHOT_FIELDS))


def stored_from(fields: Iterable[object]) -> Stored | None:
    """A snapshot hash's SNAPSHOT_FIELDS as read from Redis (bytes), or None if absent."""
    seq, text, slot = fields
    if not isinstance(seq, bytes) or not isinstance(text, bytes):
        return None
    return Stored(int(seq), text.decode(), int(slot) if isinstance(slot, bytes) else -1)


def reset_on_commit(slug: str) -> None:
    """After commit: forget a sequenced channel's state and tell gateways and clients its seq
    starts over (the object behind it was re-created)."""
    transaction.on_commit(partial(_reset, slug))


def _reset(slug: str) -> None:
    frame = reset_frame(channels.match_channel(slug))
    sink([Sent(frame.channel, frame.t, 0, frame.text)])
    try:
        pipe = live_client(slug).pipeline(transaction=True)
        pipe.delete(channels.snapshot_key(slug), channels.timeline_key(slug))
        pipe.zrem(channels.LIVE_INDEX_KEY, slug)
        pipe.publish(channels.pubsub_name(frame.channel), sealed(frame))
        pipe.execute()
    except redis.RedisError:
        logger.exception("live state not reset match=%s", slug)
