"""The process-local fan-out hub of the WebSocket gateway.

One hub per server process holds one Redis pub/sub connection, subscribed once to each
channel that at least one local socket watches. A published frame arrives once per process
and its text is written, unchanged, to each local socket on that channel: the cost per socket
is the send itself, with no per-consumer channel-layer message (ARCHITECTURE decision 4).

Order and completeness: frames of a match channel carry `seq`. The hub delivers them in
order per channel; a frame that arrives ahead of a gap (pub/sub is lossy, and two workers may
publish out of order) first pulls the missing frames from the Redis timeline.

Slow sockets: a send that cannot complete at once is finished in the background while later
frames wait in that socket's bounded queue; a socket whose queue overflows is closed with
CLOSE_SLOW so its client resumes with `since`, and the others never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import os
import time
import types
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings

from realtime import channels, protocol
from realtime.channels import Channel

logger = logging.getLogger("livescore.realtime")

Send = Callable[[dict[str, Any]], Awaitable[None]]
PRESENCE_INTERVAL = 5.0
SWEEP_INTERVAL = 5.0


_background: set[asyncio.Future[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any]) -> None:
    """Run a coroutine in the background, keeping a reference until it ends (the event
    loop holds only weak references to tasks)."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Any], pending: Any) -> Generator[Any, Any, Any]:
    """Continue, inside a task, a coroutine that was started by hand and is suspended on
    `pending` (what it yielded). This is what `await` does; it lets the common case (the
    send completes without suspending) run with no task at all."""
    try:
        while True:
            try:
                value = yield pending
            except BaseException as exc:  # noqa: BLE001 - forwarded into the coroutine
                pending = coro.throw(exc)
            else:
                pending = coro.send(value)
    except StopIteration as stop:
        return stop.value


class Connection:
    """One client socket as the hub sees it."""

    __slots__ = (
        "_close",
        "closed",
        "id",
        "last_seen",
        "queue",
        "send",
        "sending",
        "seqs",
        "syncing",
        "user_id",
    )

    def __init__(self, send: Send, close: Callable[[int], Awaitable[None]], user_id: int | None):
        self.id = uuid.uuid4().hex[:12]
        self.send = send
        self._close = close
        self.user_id = user_id
        self.queue: deque[str] | None = None  # created only for a socket that falls behind
        self.sending = False
        self.closed = False
        self.last_seen = time.monotonic()
        # channel name -> last seq written to this socket (dedupe around a resume)
        self.seqs: dict[str, int] = {}
        # channel name -> frames held back while this socket is being brought up to date
        self.syncing: dict[str, list[tuple[int, str]]] = {}

    def push(self, text: str, message: dict[str, Any] | None = None) -> None:
        """Write a frame now if the socket can take it, else queue it (bounded). `message`
        is the ASGI message for `text`, shared by every socket a broadcast reaches (servers
        do not change it), so a broadcast builds it once."""
        if self.closed:
            return
        if self.sending:
            if self.queue is None:
                self.queue = deque()
            if len(self.queue) >= protocol.SEND_QUEUE_LIMIT:
                self.queue = None
                self.close(protocol.CLOSE_SLOW)
                return
            self.queue.append(text)
            return
        self._start(message or {"type": "websocket.send", "text": text})

    def _start(self, message: dict[str, Any]) -> None:
        coro = self.send(message)
        try:
            pending = coro.send(None)  # type: ignore[attr-defined]
        except StopIteration:
            return  # written without suspending: the common case
        except Exception:  # noqa: BLE001 - a dead socket; its disconnect cleans up
            self.closed = True
            return
        self.sending = True
        spawn(self._finish(coro, pending))

    async def _finish(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        try:
            await _resume(coro, pending)
        except Exception:  # noqa: BLE001
            self.closed = True
            return
        finally:
            self.sending = False
        while self.queue and not self.sending and not self.closed:
            self._start({"type": "websocket.send", "text": self.queue.popleft()})
        if not self.queue:
            self.queue = None

    def deliver(
        self, channel: str, seq: int, text: str, message: dict[str, Any] | None = None
    ) -> None:
        """Deliver a channel frame once, in order (frames without seq pass through)."""
        if self.syncing:
            held = self.syncing.get(channel)
            if held is not None:
                held.append((seq, text))
                return
        if seq:
            if seq <= self.seqs.get(channel, 0):
                return
            self.seqs[channel] = seq
        self.push(text, message)

    def close(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        spawn(self._close(code))


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
        self.redis = aioredis.Redis(
            # A connect storm must queue for a connection, not fail (the default pool raises
            # MaxConnectionsError past 100).
            connection_pool=aioredis.BlockingConnectionPool.from_url(
                settings.REDIS_URL, max_connections=64, timeout=20
            )
        )
        self.feeds: dict[str, _Feed] = {}
        self.connections: dict[str, Connection] = {}
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self._tasks: list[asyncio.Task[None]] = []
        self._frozen_at = 0
        self.starting: asyncio.Task[None] | None = None

    @property
    def control_channel(self) -> str:
        return f"rt:ctl:{self.id}"

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
            await self.redis.aclose()

    async def start(self) -> None:
        await self._pubsub.subscribe(self.control_channel)
        loop = asyncio.get_running_loop()
        for job in (self._listen, self._presence_loop, self._sweep_loop):
            self._tasks.append(loop.create_task(job()))

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
                await self._pubsub.subscribe(channel.pubsub)
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
            spawn(self._unsubscribe(feed.channel.pubsub))

    async def _unsubscribe(self, pubsub_channel: str) -> None:
        name = pubsub_channel.removeprefix("rt:")
        if name not in self.feeds:  # nobody re-joined meanwhile
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(pubsub_channel)

    def leave(self, conn: Connection, name: str) -> None:
        conn.seqs.pop(name, None)
        conn.syncing.pop(name, None)
        self._leave(name, conn)

    # ---- delivery -------------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            try:
                async for message in self._pubsub.listen():
                    if message["type"] == "message":
                        await self._dispatch(message["channel"].decode(), message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # reconnect, and let clients resync by seq
                logger.exception("hub listener failed; resubscribing")
                await asyncio.sleep(1)

    async def _dispatch(self, pubsub_channel: str, data: bytes) -> None:
        if pubsub_channel == self.control_channel:
            self._control(data.decode())
            return
        feed = self.feeds.get(pubsub_channel.removeprefix("rt:"))
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

    # ---- live state reads (Redis) ----------------------------------------------------------

    async def snapshot(self, slug: str) -> tuple[int, str] | None:
        seq, text = await self.redis.hmget(channels.snapshot_key(slug), ["seq", "text"])
        if text is None:
            return None
        return int(seq), text.decode()

    async def timeline_since(self, slug: str, since: int) -> list[tuple[int, str]]:
        rows = await self.redis.zrangebyscore(
            channels.timeline_key(slug), f"({since}", "+inf", withscores=True
        )
        return [(int(score), member.decode()) for member, score in rows]

    async def presence(self, slug: str) -> int:
        counts = await self.redis.hvals(channels.presence_key(slug))
        return sum(int(c) for c in counts)

    # ---- sessions: one socket per user and device ------------------------------------------

    async def claim_session(self, conn: Connection, user_id: int, device: str) -> None:
        """Register this socket as the user's session on `device`; evict the previous one."""
        key = f"ws:sess:{user_id}:{device}"
        previous = await self.redis.set(key, f"{self.id}|{conn.id}", ex=86400, get=True)
        if not previous:
            return
        hub_id, _, conn_id = previous.decode().partition("|")
        if hub_id == self.id:
            self._control(f"evict {conn_id}")
        else:
            await self.redis.publish(f"rt:ctl:{hub_id}", f"evict {conn_id}")

    async def release_session(self, conn: Connection, user_id: int, device: str) -> None:
        key = f"ws:sess:{user_id}:{device}"
        # Delete only if it is still ours: a newer socket may own the key already.
        await self.redis.eval(
            "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end",
            1,
            key,
            f"{self.id}|{conn.id}",
        )

    def _control(self, command: str) -> None:
        verb, _, arg = command.partition(" ")
        if verb == "evict" and (conn := self.connections.get(arg)) is not None:
            conn.close(protocol.CLOSE_EVICTED)

    # ---- housekeeping ----------------------------------------------------------------------

    async def _presence_loop(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_INTERVAL)
            with contextlib.suppress(Exception):
                await self._write_presence()

    async def _write_presence(self) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for feed in list(self.feeds.values()):
            if feed.channel.kind == "match":
                key = channels.presence_key(feed.channel.key)
                pipe.hset(key, self.id, len(feed.sockets))
                pipe.expire(key, int(PRESENCE_INTERVAL * 3))
        await pipe.execute()

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
    await hub.starting
    return hub


async def release_hub() -> None:
    """Stop this loop's hub (tests end their loop after each test; servers never need to)."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.stop()
