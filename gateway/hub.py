"""The process-local fan-out hub of the WebSocket gateway.

One hub per server process holds one Redis pub/sub subscription (gateway/broker.py) to each
channel that at least one local socket watches. A published frame arrives once per process
and its text is written, unchanged, to each local socket on that channel: the cost per socket
is the send itself, with no per-consumer channel-layer message (ARCHITECTURE decision 4).

Order and completeness: frames of a match channel carry `seq`. The hub delivers them in
order per channel; a frame that arrives ahead of a gap (pub/sub is lossy, and two workers may
publish out of order) first pulls the missing frames from the Redis timeline.

Also here: reads of the stored snapshot and timeline, sessions (gateway/sessions.py),
presence (gateway/presence.py) and the sweep of idle sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import os
import time
import uuid

from core.redis import async_client
from gateway import presence, sessions
from gateway.broker import Broker
from gateway.connection import Connection, spawn
from realtime import protocol
from realtime.channels import (
    Channel,
    channel_of_pubsub,
    control_channel,
    snapshot_key,
    timeline_key,
)
from realtime.publish import stored_pair

SWEEP_INTERVAL = 5.0


class _Feed:
    """Local sockets on one channel and the last seq the hub delivered to them."""

    __slots__ = ("channel", "last_seq", "ready", "sockets")

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.sockets: set[Connection] = set()
        self.last_seq = 0
        self.ready: asyncio.Future[None] | None = None


class Hub:
    def __init__(self) -> None:
        self.id = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.redis = async_client()
        self.feeds: dict[str, _Feed] = {}
        self.connections: dict[str, Connection] = {}
        self.broker = Broker(self.redis, self._dispatch)
        self._tasks: list[asyncio.Task[None]] = []
        self._frozen_at = 0
        self.starting: asyncio.Task[None] | None = None

    @property
    def control_channel(self) -> str:
        return control_channel(self.id)

    async def start(self) -> None:
        await self.broker.subscribe(self.control_channel)
        loop = asyncio.get_running_loop()
        jobs = (
            self.broker.listen(),
            presence.write_loop(self.redis, self.id, self._match_counts),
            self._sweep_loop(),
        )
        self._tasks = [loop.create_task(job) for job in jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.broker.close()
        with contextlib.suppress(Exception):
            await self.redis.aclose()

    # ---- connections ----------------------------------------------------------------------

    def add(self, conn: Connection) -> None:
        self.connections[conn.id] = conn

    def remove(self, conn: Connection) -> list[str]:
        """Forget a socket; returns the channels it was on."""
        self.connections.pop(conn.id, None)
        left = [name for name, feed in self.feeds.items() if conn in feed.sockets]
        for name in left:
            self._leave(name, conn)
        return left

    def watchers(self, name: str) -> int:
        feed = self.feeds.get(name)
        return len(feed.sockets) if feed else 0

    async def join(self, conn: Connection, channel: Channel) -> _Feed:
        """Add a socket to a channel; the first local socket subscribes the process."""
        feed = self.feeds.get(channel.name)
        if feed is None:
            feed = self.feeds[channel.name] = _Feed(channel)
            feed.ready = asyncio.get_running_loop().create_future()
            try:
                await self.broker.subscribe(channel.pubsub)
            finally:
                feed.ready.set_result(None)
        elif feed.ready is not None and not feed.ready.done():
            await feed.ready
        feed.sockets.add(conn)
        return feed

    def _leave(self, name: str, conn: Connection) -> None:
        feed = self.feeds.get(name)
        if feed is None:
            return
        feed.sockets.discard(conn)
        if not feed.sockets:
            del self.feeds[name]
            spawn(self._unsubscribe(feed.channel))

    async def _unsubscribe(self, channel: Channel) -> None:
        if channel.name not in self.feeds:  # nobody re-joined meanwhile
            await self.broker.unsubscribe(channel.pubsub)

    def leave(self, conn: Connection, name: str) -> None:
        conn.seqs.pop(name, None)
        conn.syncing.pop(name, None)
        self._leave(name, conn)

    # ---- delivery -------------------------------------------------------------------------

    async def _dispatch(self, pubsub_channel: str, data: bytes) -> None:
        if pubsub_channel == self.control_channel:
            self._control(data.decode())
            return
        feed = self.feeds.get(channel_of_pubsub(pubsub_channel))
        if feed is None:
            return
        text = data.decode()
        seq = frame_seq(text)
        if not seq:
            if text.endswith('"t":"reset"}'):
                self._reset(feed)
            self._broadcast(feed, 0, text)
            return
        if seq <= feed.last_seq:
            return  # already delivered (a replay, or a publish raced by a newer one)
        if feed.last_seq and seq > feed.last_seq + 1:
            for missing_seq, missing in await self.timeline_since(feed.channel.key, feed.last_seq):
                if missing_seq < seq:
                    self._broadcast(feed, missing_seq, missing)
        self._broadcast(feed, seq, text)

    def _reset(self, feed: _Feed) -> None:
        feed.last_seq = 0
        for conn in feed.sockets:
            conn.seqs[feed.channel.name] = 0

    def _broadcast(self, feed: _Feed, seq: int, text: str) -> None:
        if seq:
            feed.last_seq = max(feed.last_seq, seq)
        name = feed.channel.name
        message = {"type": "websocket.send", "text": text}
        for conn in tuple(feed.sockets):
            conn.deliver(name, seq, text, message)

    # ---- stored state of sequenced channels (Redis) ----------------------------------------

    async def snapshot(self, slug: str) -> tuple[int, str] | None:
        seq, text = await self.redis.hmget(snapshot_key(slug), ["seq", "text"])
        return stored_pair(seq, text)

    async def timeline_since(self, slug: str, since: int) -> list[tuple[int, str]]:
        rows = await self.redis.zrangebyscore(
            timeline_key(slug), f"({since}", "+inf", withscores=True
        )
        # withscores: (member bytes, score) pairs; the stubs type every reply shape at once.
        return [(int(score), member.decode()) for member, score in rows]  # type: ignore[str-unpack,union-attr]

    async def presence(self, slug: str) -> int:
        return await presence.watching(self.redis, slug)

    def _match_counts(self) -> list[tuple[str, int]]:
        feeds = list(self.feeds.values())
        return [(f.channel.key, len(f.sockets)) for f in feeds if f.channel.kind == "match"]

    # ---- sessions: one socket per user and device ------------------------------------------

    async def claim_session(self, conn: Connection, user_id: int, device: str) -> None:
        """Register this socket as the user's session on `device`; evict the previous one."""
        evicted = await sessions.claim(self.redis, self.id, conn.id, user_id, device)
        if evicted is None:
            return
        owner, old_conn = evicted
        if owner == self.id:
            self._control(f"evict {old_conn}")
        else:
            await sessions.tell_evict(self.redis, owner, old_conn)

    async def release_session(self, conn: Connection, user_id: int, device: str) -> None:
        await sessions.release(self.redis, self.id, conn.id, user_id, device)

    def _control(self, command: str) -> None:
        verb, _, arg = command.partition(" ")
        if verb == "evict" and (conn := self.connections.get(arg)) is not None:
            conn.close(protocol.CLOSE_EVICTED)

    # ---- housekeeping ----------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            self.sweep()

    def sweep(self) -> None:
        """Close sockets silent past the idle timeout; freeze long-lived objects out of the
        garbage collector's reach (full collections over 10k sockets paused for ~1 s)."""
        deadline = time.monotonic() - protocol.IDLE_TIMEOUT_SECONDS
        for conn in [c for c in self.connections.values() if c.last_seen < deadline]:
            conn.close(protocol.CLOSE_IDLE)
        if len(self.connections) > self._frozen_at + 100:
            gc.freeze()
            self._frozen_at = len(self.connections)


def frame_seq(text: str) -> int:
    """The seq of an encoded frame without decoding it (frames put "seq" right after "t")."""
    start = text.find('"seq":')
    if start < 0:
        return 0
    digits = itertools.takewhile(str.isdigit, text[start + 6 : start + 20])
    return int("".join(digits) or 0)


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


async def get_hub() -> Hub:
    """The hub of this process's event loop, started on first use. (A server has one loop;
    tests get a fresh loop, and so a fresh hub, per test.)"""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
        hub.starting = loop.create_task(hub.start())
    await hub.starting  # type: ignore[misc]
    return hub


async def release_hub() -> None:
    """Stop this loop's hub (tests end their loop after each test; servers never need to)."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.stop()
