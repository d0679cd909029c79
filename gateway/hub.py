"""The process-local fan-out hub of the WebSocket gateway: the registry and the broadcast.

One hub per server process holds one Redis pub/sub subscription (gateway/broker.py) to each
channel that at least one local socket watches, on the Redis server that carries the channel
(a match's live-state shard, or REDIS_URL). A published frame arrives once per process
in its envelope (realtime/wire.py), which says its type, seq and user without decoding it,
and its text is written, unchanged, to each local socket on that channel: the cost per socket
is the send itself, with no per-consumer channel-layer message (ARCHITECTURE decision 4).

Beside it, each in its own module: ordered delivery and gap repair of match channels
(gateway/ordering.py), reads of stored snapshots and timelines (gateway/history.py), chat
shards and their ticks (gateway/chatrooms.py), clients' latency reports
(gateway/latency.py), sessions (gateway/sessions.py), presence (gateway/presence.py); here
too, the sweep of idle sockets and the heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
import uuid
from functools import partial

from django.conf import settings

from core import metrics
from core.context import correlated
from core.redis import async_client
from core.tracing import tracer
from gateway import latency, limits, presence, sessions
from gateway.admission import Admission
from gateway.broker import Broker
from gateway.chatrooms import ChatRooms
from gateway.connection import Connection, latest_front, moment_front, spawn
from gateway.feed import Feed
from gateway.history import History
from gateway.ordering import Ordering
from realtime import protocol
from realtime.channels import (
    SEEN_TTL,
    Channel,
    channel_of_pubsub,
    control_channel,
    redis_url_of,
    seen_key,
)
from realtime.frames import clock_text
from realtime.publish import command_gateway
from realtime.wire import Envelope, unseal

logger = logging.getLogger("livescore.realtime")
SWEEP_INTERVAL = protocol.HEARTBEAT_SECONDS  # the sweep writes the heartbeats too
GOALS = frozenset({"goal", "pen"})  # frames after which the process gives the score the CPU
SEEN = frozenset({"goal", "card"})  # frames whose viewers skip the same push


class Hub:
    def __init__(self) -> None:
        self.id = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.redis = async_client()
        # One client and one pub/sub connection per Redis server: REDIS_URL, and each
        # live-state shard that carries matches' channels (realtime.channels.redis_url_of).
        self.servers = {settings.REDIS_URL: self.redis}
        for url in settings.REDIS_LIVE_URLS:
            self.servers.setdefault(url, async_client(url=url))
        self.brokers = {
            url: Broker(r, self._dispatch, partial(self._recover, url))
            for url, r in self.servers.items()
        }
        self.feeds: dict[str, Feed] = {}
        self.connections: dict[str, Connection] = {}
        self.history = History(self.servers)
        self.ordering = Ordering(self.history, self._fanout, self.broadcast)
        self.chat = ChatRooms(self)
        # New sockets admitted by this process (gateway/admission.py).
        self.admission = Admission(
            limits.HANDSHAKES_PER_SECOND, limits.HANDSHAKE_BURST, busy=self._scoring_for
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._frozen_at = 0
        self.starting: asyncio.Task[None] | None = None
        # Chat ticks wait until then: a score frame was just written to this process's
        # sockets, and its sends (and the clients reading them) get the CPU first.
        self.score_first_until = 0.0
        # ... and after a goal or a shootout kick, new sockets and presence writes wait too.
        self.goal_until = 0.0

    @property
    def control_channel(self) -> str:
        return control_channel(self.id)

    async def start(self) -> None:
        await self.brokers[settings.REDIS_URL].subscribe(self.control_channel)
        loop = asyncio.get_running_loop()
        jobs = (
            *(broker.listen() for broker in self.brokers.values()),
            presence.write_loop(self.redis, self.id, self._match_counts, self._scoring),
            self._sweep_loop(),
            self.chat.tick_loop(),
        )
        self._tasks = [loop.create_task(job) for job in jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for broker in self.brokers.values():
            await broker.close()
        for server in self.servers.values():
            with contextlib.suppress(Exception):
                await server.aclose()

    # ---- connections ----------------------------------------------------------------------

    def add(self, conn: Connection) -> None:
        self.connections[conn.id] = conn
        metrics.SOCKETS.inc()

    def remove(self, conn: Connection) -> list[str]:
        """Forget a socket; returns the channels it was on."""
        if self.connections.pop(conn.id, None) is not None:
            metrics.SOCKETS.dec()
        left = [name for name, feed in self.feeds.items() if feed.has(conn)]
        for name in left:
            self.leave_feed(name, conn)
        self.chat.forget(conn)
        return left

    def watchers(self, name: str) -> int:
        feed = self.feeds.get(name)
        return feed.count() if feed else 0

    async def join(self, conn: Connection, channel: Channel, delay: int = 0) -> Feed:
        """Add a socket to a channel; the first local socket subscribes the process."""
        feed = self.feeds.get(channel.name)
        if feed is None:
            feed = self.feeds[channel.name] = Feed(channel)
            feed.ready = asyncio.get_running_loop().create_future()
            try:
                await self._broker(channel.name).subscribe(channel.pubsub)
            finally:
                feed.ready.set_result(None)
        elif feed.ready is not None and not feed.ready.done():
            await feed.ready
        if not feed.has(conn):
            metrics.SUBSCRIPTIONS.labels(channel.kind).inc()
        if delay:
            feed.sockets.discard(conn)
            feed.delayed = feed.delayed or {}
            feed.delayed[conn] = delay
        else:
            if feed.delayed:
                feed.delayed.pop(conn, None)
            feed.sockets.add(conn)
        return feed

    def leave(self, conn: Connection, name: str) -> None:
        """Take a socket off a channel (a chat room: off its shard)."""
        conn.seqs.pop(name, None)
        conn.syncing.pop(name, None)
        if not self.chat.leave(conn, name):
            self.leave_feed(name, conn)

    def leave_feed(self, name: str, conn: Connection) -> None:
        feed = self.feeds.get(name)
        if feed is None or not feed.has(conn):
            return
        feed.sockets.discard(conn)
        if feed.delayed:
            feed.delayed.pop(conn, None)
        metrics.SUBSCRIPTIONS.labels(feed.channel.kind).dec()
        if not feed.sockets and not feed.delayed:
            del self.feeds[name]
            spawn(self._unsubscribe(feed.channel))

    async def _unsubscribe(self, channel: Channel) -> None:
        if channel.name not in self.feeds:  # nobody re-joined meanwhile
            await self._broker(channel.name).unsubscribe(channel.pubsub)

    def _broker(self, channel: str) -> Broker:
        return self.brokers[redis_url_of(channel)]

    # ---- delivery -------------------------------------------------------------------------

    async def _dispatch(self, pubsub_channel: str, data: bytes) -> None:
        if pubsub_channel == self.control_channel:
            self._control(data.decode())
            return
        feed = self.feeds.get(channel_of_pubsub(pubsub_channel))
        if feed is None:
            return
        try:
            frame = unseal(data.decode())
        except ValueError:
            logger.warning("a message without its envelope on %s", pubsub_channel)
            return
        if feed.pending is not None:
            self.chat.dispatch(feed, frame)
        elif frame.seq:
            await self.ordering.accept(feed, frame)
        else:
            if frame.t == "reset":
                self.ordering.reset(feed)
            if frame.t in limits.BEST_EFFORT:
                self.broadcast_low(feed, frame.text)
            else:
                self.broadcast(feed, 0, frame.t, frame.text)

    async def _recover(self, url: str) -> None:
        await self.ordering.recover(url, list(self.feeds.values()))

    def _fanout(self, feed: Feed, frame: Envelope) -> None:
        with correlated(frame.cid), tracer.start_as_current_span("gateway.fanout") as span:
            span.set_attribute("livescore.channel", feed.channel.name)
            span.set_attribute("livescore.seq", frame.seq)
            span.set_attribute("livescore.correlation", frame.cid)
            span.set_attribute("livescore.sockets", len(feed.sockets))
            took = self.broadcast(feed, frame.seq, frame.t, frame.text)
            logger.info(
                "fanout %s seq=%s sockets=%s ms=%.1f",
                feed.channel.name, frame.seq, len(feed.sockets), took * 1000,
            )  # fmt: skip

    def broadcast(self, feed: Feed, seq: int, t: str, text: str) -> float:
        """Write a frame to every local socket on the channel; returns the seconds it took."""
        started = time.monotonic()
        goal = t == "goal"
        if seq:
            feed.last_seq = max(feed.last_seq, seq)
            self.score_first_until = started + limits.SCORE_FIRST_SECONDS
            if t in GOALS:
                self.goal_until = self.score_first_until
            latency.arrived(feed, seq, started, goal)
            if limits.SEEN_LIVE and t in SEEN and feed.arrived is not None:
                spawn(self._seen(feed, seq))
        name = feed.channel.name
        latest = latest_front(name, t)
        message = {"type": "websocket.send", "text": text}
        sockets = tuple(feed.sockets)
        for conn in sockets:
            conn.deliver(name, seq, text, message, latest)
        metrics.FRAMES_SENT.labels(feed.channel.kind).inc(len(sockets))
        if feed.delayed:
            loop = asyncio.get_running_loop()
            for delay in set(feed.delayed.values()):
                loop.call_later(delay, _deliver_delayed, feed, delay, seq, t, text)
        took = time.monotonic() - started
        if goal:
            metrics.GOAL_STAGE.labels("fanout").observe(took)
        return took

    def broadcast_low(self, feed: Feed, text: str, delay: int = 0) -> None:
        """A best-effort frame (a moment's reactions) to the channel's local sockets: after
        a score frame's sends (SCORE_FIRST_SECONDS), behind every guaranteed frame, the
        newest of a moment replacing an older one still waiting; sockets on a spoiler
        delay get it that much later, like every frame of the channel."""
        wait = self.score_first_until - time.monotonic()
        if wait > 0:
            asyncio.get_running_loop().call_later(wait, self.broadcast_low, feed, text, delay)
            return
        name, front = feed.channel.name, moment_front(text)
        message = {"type": "websocket.send", "text": text}
        if delay:
            sockets = tuple(c for c, d in (feed.delayed or {}).items() if d == delay)
        else:
            sockets = tuple(feed.sockets)
            loop = asyncio.get_running_loop()
            for later in set((feed.delayed or {}).values()):
                loop.call_later(later, self.broadcast_low, feed, text, later)
        dropped = 0
        for conn in sockets:
            if conn.syncing and name in conn.syncing:
                continue  # being brought up to date: its client reads the counts on REST
            if not conn.push_low(text, message, front):
                dropped += 1
        metrics.FRAMES_SENT.labels("reactions").inc(len(sockets))
        if dropped:
            metrics.FRAMES_DROPPED.labels("reactions_queue").inc(dropped)

    async def _seen(self, feed: Feed, seq: int) -> None:
        """Note the signed-in fans this process wrote a goal or card to: the notifications
        pipeline skips their push of the same event (PUSH_SKIP_LIVE_KINDS)."""
        users = {conn.user_id for conn in feed.sockets if conn.user_id is not None}
        if not users:
            return
        key = seen_key(feed.channel.key, seq)
        with contextlib.suppress(Exception):  # Redis away: those fans get a push as well
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.sadd(key, *users)
                pipe.expire(key, SEEN_TTL)
                await pipe.execute()

    def client_latency(
        self, conn: Connection, name: str, reports: list[list[int]], rtt_ms: int
    ) -> None:
        """What a client measured for frames of channel `name` (gateway/latency.py)."""
        feed = self.feeds.get(name)
        if feed is not None:
            latency.client_latency(feed, conn, reports, rtt_ms)

    async def presence(self, slug: str) -> int:
        return await presence.watching(self.redis, slug)

    def _scoring(self) -> bool:
        """A goal went out moments ago: its sends come first (presence waits)."""
        return self._scoring_for() > 0

    def _scoring_for(self) -> float:
        """Seconds a goal (or shootout kick) just written still has this process to itself
        (0: none): new sockets and presence writes wait that long."""
        if not limits.SPIKE_PROTECTION:
            return 0.0
        return max(0.0, self.goal_until - time.monotonic())

    def _match_counts(self) -> list[tuple[str, int]]:
        feeds = list(self.feeds.values())
        return [(f.channel.key, f.count()) for f in feeds if f.channel.kind == "match"]

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
            await command_gateway(self.redis, owner, f"evict {old_conn}")

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
        """Close sockets silent past the idle timeout; write heartbeats; freeze long-lived
        objects out of the garbage collector's reach (full collections over 10k sockets
        paused for ~1 s)."""
        self.heartbeat()
        deadline = time.monotonic() - limits.IDLE_TIMEOUT_SECONDS
        for conn in [c for c in self.connections.values() if c.last_seen < deadline]:
            conn.close(protocol.CLOSE_IDLE)
        queued = [len(c.queue or ()) + len(c.low or ()) for c in self.connections.values()]
        metrics.QUEUED.set(sum(queued))
        metrics.TASKS.set(len(asyncio.all_tasks()))
        if len(self.connections) > self._frozen_at + 100:
            gc.freeze()
            self._frozen_at = len(self.connections)

    def heartbeat(self) -> None:
        """`hb` to each socket written nothing since the last tick: one encoded frame for all.
        A socket still busy sending has frames on the way, which prove the connection too."""
        text = clock_text("hb")
        message = {"type": "websocket.send", "text": text}
        beats = 0
        for conn in self.connections.values():
            if not conn.fresh and not conn.sending:
                conn.push(text, message)
                beats += 1
            conn.fresh = False
        metrics.FRAMES_SENT.labels("hb").inc(beats)


def _deliver_delayed(feed: Feed, delay: int, seq: int, t: str, text: str) -> None:
    """A frame's turn for the sockets on `delay`, `delay` seconds after the others."""
    name = feed.channel.name
    for conn, wait in list((feed.delayed or {}).items()):
        if wait == delay:
            if t == "reset":
                conn.seqs[name] = 0
            conn.deliver(name, seq, text)


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
