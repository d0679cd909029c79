"""The process-local fan-out hub of the WebSocket gateway.

One hub per server process holds one Redis pub/sub subscription (gateway/broker.py) to each
channel that at least one local socket watches, on the Redis server that carries the channel
(a match's live-state shard, or REDIS_URL). A published frame arrives once per process
and its text is written, unchanged, to each local socket on that channel: the cost per socket
is the send itself, with no per-consumer channel-layer message (ARCHITECTURE decision 4).

Order and completeness: frames of a match channel carry `seq`. The hub delivers them in
order per channel; a frame that arrives ahead of a gap (pub/sub is lossy, and two workers may
publish out of order) first pulls the missing frames from the Redis timeline.

Chat rooms are read in shards (docs/chat.md): a shard's messages are gathered for one tick
(CHAT_TICK_MS) and written as one `msgs` frame of at most CHAT_TICK_MAX messages, the newest,
to each local socket on the shard, in the best-effort class (gateway/connection.py). A
message left out by that budget still reaches its author's own sockets. Room-wide frames
(`del`, `room`) go out at once; `kick` takes a user's sockets off the room.

Also here: reads of the stored snapshot and timeline, sessions (gateway/sessions.py),
presence (gateway/presence.py) and the sweep of idle sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import logging
import os
import time
import uuid
from collections import Counter
from functools import partial

import redis.asyncio as aioredis
from django.conf import settings

import chat.live as chat_live
from core import metrics
from core.context import correlated
from core.redis import async_client, live_url
from core.tracing import tracer
from gateway import presence, sessions
from gateway.admission import Admission, SingleFlight
from gateway.broker import Broker
from gateway.connection import Connection, spawn
from realtime import protocol
from realtime.channels import (
    SEEN_TTL,
    Channel,
    channel_of_pubsub,
    chat_channel,
    chat_shard,
    control_channel,
    redis_url_of,
    seen_key,
    snapshot_key,
    timeline_key,
)
from realtime.frames import clock_text
from realtime.publish import CORRELATION_MARK, stored_pair

logger = logging.getLogger("livescore.realtime")
SWEEP_INTERVAL = protocol.HEARTBEAT_SECONDS  # the sweep writes the heartbeats too
# After a score frame, chat batches wait this long: a goal's fan-out to thousands of local
# sockets never shares the CPU with a chat tick (bench/chat.py measured the difference).
SCORE_FIRST_SECONDS = 0.3
# Client latency reports (`lat`, docs/protocol.md): the frames a report may name, per channel,
# and the latency above which a report describes a resume after an absence, not delivery.
ARRIVALS_KEPT = 64
# A frame ahead of a gap the timeline cannot fill yet (its predecessor's publish is still on
# the way from another worker) waits this long for it, so every socket gets every frame in
# order; then it goes out anyway and clients resume across the gap with `since`.
HOLD_SECONDS = 0.25
CLIENT_LATENCY_MAX = 60.0
# Whether goal and card frames note who saw them, for the notifications pipeline to skip
# their pushes (off when PUSH_SKIP_LIVE_KINDS is empty).
SEEN_LIVE = bool(getattr(settings, "PUSH_SKIP_LIVE_KINDS", ()))


class _Feed:
    """Local sockets on one channel and the last seq the hub delivered to them."""

    __slots__ = (
        "arrived", "channel", "delayed", "held", "last_seq", "pending", "ready", "sockets",
    )  # fmt: skip

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.sockets: set[Connection] = set()
        # sockets with a spoiler delay (seconds): not in `sockets`, so the shared path of
        # every other socket stays as it is; their frames are written that much later
        self.delayed: dict[Connection, int] | None = None
        self.last_seq = 0
        # frames that arrived ahead of a gap, seq -> (text, correlation id), held for at
        # most HOLD_SECONDS for the missing ones (two workers publish out of order)
        self.held: dict[int, tuple[str, str]] | None = None
        self.ready: asyncio.Future[None] | None = None
        # chat shards: messages gathered for the next tick's batch
        self.pending: list[str] | None = [] if channel.kind == "chat" else None
        # match channels: seq -> (monotonic time the hub wrote it, goal or not) for the last
        # ARRIVALS_KEPT frames, what clients' latency reports are measured against
        self.arrived: dict[int, tuple[float, bool]] | None = {} if channel.kind == "match" else None


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
        self.feeds: dict[str, _Feed] = {}
        self.connections: dict[str, Connection] = {}
        self.chat_scripts = chat_live.Scripts(self.redis)
        # The reconnect herd: identical reads in flight are made once (gateway/admission.py).
        self.snapshots = SingleFlight("snapshot", protocol.SPIKE_PROTECTION)
        self.timelines = SingleFlight("timeline", protocol.SPIKE_PROTECTION)
        # New sockets admitted by this process (gateway/admission.py).
        self.admission = Admission(
            protocol.HANDSHAKES_PER_SECOND, protocol.HANDSHAKE_BURST, busy=self._scoring_for
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._frozen_at = 0
        self.starting: asyncio.Task[None] | None = None
        # what the best-effort class gave up (bench/chat.py and the metrics read these)
        self.stats: Counter[str] = Counter()
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
            self._chat_loop(),
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
        left = [name for name, feed in self.feeds.items() if _member(feed, conn)]
        for name in left:
            self._leave(name, conn)
        for room_id, shard in (conn.chat or {}).values():
            spawn(self._leave_shard(room_id, shard))
        conn.chat = None
        return left

    def watchers(self, name: str) -> int:
        feed = self.feeds.get(name)
        return len(feed.sockets) + len(feed.delayed or ()) if feed else 0

    async def join(self, conn: Connection, channel: Channel, delay: int = 0) -> _Feed:
        """Add a socket to a channel; the first local socket subscribes the process."""
        feed = self.feeds.get(channel.name)
        if feed is None:
            feed = self.feeds[channel.name] = _Feed(channel)
            feed.ready = asyncio.get_running_loop().create_future()
            try:
                await self._broker(channel.name).subscribe(channel.pubsub)
            finally:
                feed.ready.set_result(None)
        elif feed.ready is not None and not feed.ready.done():
            await feed.ready
        if not _member(feed, conn):
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

    def _leave(self, name: str, conn: Connection) -> None:
        feed = self.feeds.get(name)
        if feed is None or not _member(feed, conn):
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

    def _live(self, slug: str) -> aioredis.Redis:
        """The server holding a match's snapshot and timeline."""
        return self.servers[live_url(slug)]

    def leave(self, conn: Connection, name: str) -> None:
        conn.seqs.pop(name, None)
        conn.syncing.pop(name, None)
        if conn.chat and name in conn.chat:
            room_id, shard = conn.chat.pop(name)
            self._leave(chat_shard(room_id, shard).name, conn)
            spawn(self._leave_shard(room_id, shard))
            return
        self._leave(name, conn)

    async def join_chat(self, conn: Connection, room_id: int) -> None:
        """Put a socket on a shard of the room (the first with room for one more listener);
        its frames then arrive as the room's (`chat:room:<id>`)."""
        name = chat_channel(room_id)
        if conn.chat and name in conn.chat:
            return
        shard = await chat_live.join_shard(self.chat_scripts, room_id)
        await self.join(conn, chat_shard(room_id, shard))
        if conn.chat is None:
            conn.chat = {}
        conn.chat[name] = (room_id, shard)
        conn.seqs[name] = 0

    async def _leave_shard(self, room_id: int, shard: int) -> None:
        with contextlib.suppress(Exception):  # Redis away: the count expires with the room
            await chat_live.leave_shard(self.chat_scripts, room_id, shard)

    # ---- delivery -------------------------------------------------------------------------

    async def _dispatch(self, pubsub_channel: str, data: bytes) -> None:
        if pubsub_channel == self.control_channel:
            self._control(data.decode())
            return
        feed = self.feeds.get(channel_of_pubsub(pubsub_channel))
        if feed is None:
            return
        text = data.decode()
        cid = "-"
        if text.startswith(CORRELATION_MARK):
            _, cid, text = text.split(CORRELATION_MARK, 2)
        if feed.pending is not None:
            self._chat(feed, text)
            return
        seq = frame_seq(text)
        if not seq:
            if text.endswith('"t":"reset"}'):
                self._reset(feed)
            self._broadcast(feed, 0, text)
            return
        if seq <= feed.last_seq:
            return  # already delivered (a replay, or a publish raced by a newer one)
        if feed.last_seq and seq > feed.last_seq + 1:
            await self._fill_gap(feed, seq)
            if seq <= feed.last_seq:
                return
            if seq > feed.last_seq + 1:
                self._hold(feed, seq, text, cid)
                return
        self._fanout(feed, seq, text, cid)
        self._release_next(feed)

    async def _fill_gap(self, feed: _Feed, seq: int) -> None:
        """Deliver, from the timeline, the frames between the last delivered and `seq` that
        are stored already, in order, stopping at the first still missing."""
        for missing_seq, missing in await self.timeline_since(feed.channel.key, feed.last_seq):
            if missing_seq >= seq or missing_seq != feed.last_seq + 1:
                break
            self._broadcast(feed, missing_seq, missing)

    def _hold(self, feed: _Feed, seq: int, text: str, cid: str) -> None:
        first = not feed.held
        feed.held = feed.held or {}
        feed.held[seq] = (text, cid)
        if first:
            asyncio.get_running_loop().call_later(
                HOLD_SECONDS, lambda: spawn(self._give_up_waiting(feed))
            )

    def _release_next(self, feed: _Feed) -> None:
        """Held frames that are now next in line go out."""
        while feed.held and (nxt := feed.held.pop(feed.last_seq + 1, None)) is not None:
            self._fanout(feed, feed.last_seq + 1, *nxt)
        if feed.held:
            for old in [s for s in feed.held if s <= feed.last_seq]:
                del feed.held[old]

    async def _give_up_waiting(self, feed: _Feed) -> None:
        """The hold ran out: what the timeline has now, then every held frame in order."""
        if not feed.held:
            return
        await self._fill_gap(feed, min(feed.held))
        held, feed.held = feed.held, None
        for seq in sorted(held):
            if seq > feed.last_seq:
                self._fanout(feed, seq, *held[seq])

    def _fanout(self, feed: _Feed, seq: int, text: str, cid: str) -> None:
        with correlated(cid), tracer.start_as_current_span("gateway.fanout") as span:
            span.set_attribute("livescore.channel", feed.channel.name)
            span.set_attribute("livescore.seq", seq)
            span.set_attribute("livescore.correlation", cid)
            span.set_attribute("livescore.sockets", len(feed.sockets))
            took = self._broadcast(feed, seq, text)
            logger.info(
                "fanout %s seq=%s sockets=%s ms=%.1f",
                feed.channel.name, seq, len(feed.sockets), took * 1000,
            )  # fmt: skip

    async def _recover(self, url: str) -> None:
        """After a pub/sub connection came back: deliver what each match channel on that
        server stored while it was away. A server that restarted empty has nothing; its
        matches' next frames then show clients a gap, and they resync (docs/protocol.md)."""
        for feed in list(self.feeds.values()):
            if feed.channel.kind != "match" or not feed.last_seq:
                continue
            if redis_url_of(feed.channel.name) != url:
                continue
            missed = await self.timeline_since(feed.channel.key, feed.last_seq)
            for seq, text in missed:
                if seq > feed.last_seq:
                    self._broadcast(feed, seq, text)
            logger.info(
                "recovered %s after seq=%s frames=%s", feed.channel.name, feed.last_seq, len(missed)
            )

    def _reset(self, feed: _Feed) -> None:
        feed.last_seq = 0
        feed.held = None
        for conn in feed.sockets:
            conn.seqs[feed.channel.name] = 0

    def _broadcast(self, feed: _Feed, seq: int, text: str) -> float:
        """Write a frame to every local socket on the channel; returns the seconds it took."""
        started = time.monotonic()
        goal = '"t":"goal"' in text[:80]
        if seq:
            feed.last_seq = max(feed.last_seq, seq)
            self.score_first_until = started + SCORE_FIRST_SECONDS
            if goal or '"t":"pen"' in text[:80]:
                self.goal_until = self.score_first_until
            if feed.arrived is not None:
                _remember(feed.arrived, seq, (started, goal))
                if SEEN_LIVE and (goal or '"t":"card"' in text[:80]):
                    spawn(self._seen(feed, seq))
        name = feed.channel.name
        message = {"type": "websocket.send", "text": text}
        sockets = tuple(feed.sockets)
        for conn in sockets:
            conn.deliver(name, seq, text, message)
        metrics.FRAMES_SENT.labels(feed.channel.kind).inc(len(sockets))
        if feed.delayed:
            loop = asyncio.get_running_loop()
            for delay in set(feed.delayed.values()):
                loop.call_later(delay, _deliver_delayed, feed, delay, seq, text)
        took = time.monotonic() - started
        if goal:
            metrics.GOAL_STAGE.labels("fanout").observe(took)
        return took

    async def _seen(self, feed: _Feed, seq: int) -> None:
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
        """Record what a client measured: for each `[seq, age]`, the frame of `seq` reached
        the client `age` ms before this report left it. Half the client's round-trip time
        stands for the report's own way here, so no clock is compared across machines. Each
        frame counts once per socket, and only frames this process wrote."""
        feed = self.feeds.get(name)
        if feed is None or feed.arrived is None or conn not in feed.sockets:
            return
        now = time.monotonic() - rtt_ms / 2000
        reported = conn.reported if conn.reported is not None else {}
        conn.reported = reported
        for seq, age in reports:
            sent = feed.arrived.get(seq)
            if sent is None or seq <= reported.get(name, 0):
                metrics.CLIENT_REPORTS.labels("unknown").inc()
                continue
            reported[name] = seq
            latency = now - age / 1000 - sent[0]
            if not -0.5 <= latency <= CLIENT_LATENCY_MAX:  # clock jumps, resumes after a nap
                metrics.CLIENT_REPORTS.labels("implausible").inc()
                continue
            metrics.CLIENT_REPORTS.labels("recorded").inc()
            metrics.CLIENT_LATENCY.labels("goal" if sent[1] else "event").observe(max(latency, 0))

    # ---- chat shards ------------------------------------------------------------------------

    def _chat(self, feed: _Feed, text: str) -> None:
        if text.startswith('{"id":'):  # a message: batched at the next tick
            feed.pending.append(text)  # type: ignore[union-attr]
        elif '"t":"kick"' in text:
            self._kick(feed, json.loads(text))
        else:  # del, room: room-wide, at once and never dropped
            self._broadcast(feed, 0, text)

    def _kick(self, feed: _Feed, frame: dict[str, object]) -> None:
        data = frame["d"]
        assert isinstance(data, dict)
        name, user_id = str(frame["ch"]), data["u"]
        text = json.dumps({"ch": name, "t": "unsub", "d": {"r": data["r"]}}, separators=(",", ":"))
        for conn in [c for c in feed.sockets if c.user_id == user_id]:
            self.leave(conn, name)
            conn.push(text)
            self.stats["chat_kicked"] += 1

    async def _chat_loop(self) -> None:
        tick = settings.CHAT_TICK_MS / 1000
        while True:
            await asyncio.sleep(tick)
            while (wait := self.score_first_until - time.monotonic()) > 0:
                self.stats["chat_ticks_deferred"] += 1
                await asyncio.sleep(wait)
            for feed in [f for f in self.feeds.values() if f.pending]:
                self.flush_chat(feed)
                await asyncio.sleep(0)  # a goal that arrived meanwhile goes out between shards

    def flush_chat(self, feed: _Feed) -> None:
        """One `msgs` frame with the tick's newest messages to every socket on the shard; an
        author whose message the budget left out still gets it on their own sockets."""
        items, feed.pending = feed.pending or [], []
        budget = settings.CHAT_TICK_MAX
        kept, left_out = items[-budget:], items[:-budget]
        room = f"chat:room:{feed.channel.key}"
        text = _batch(room, kept)
        message = {"type": "websocket.send", "text": text}
        dropped = 0
        for conn in tuple(feed.sockets):
            if not conn.push_low(text, message):
                dropped += 1
        self.stats["chat_queue_dropped"] += dropped
        self.stats["chat_batches"] += 1
        metrics.FRAMES_SENT.labels("chat").inc(len(feed.sockets))
        if dropped:
            metrics.FRAMES_DROPPED.labels("chat_queue").inc(dropped)
        if left_out:
            self.stats["chat_left_out"] += len(left_out)
            metrics.FRAMES_DROPPED.labels("chat_budget").inc(len(left_out))
            self._own_messages(feed, room, left_out)

    def _own_messages(self, feed: _Feed, room: str, items: list[str]) -> None:
        by_author: dict[int, list[str]] = {}
        for item in items:
            by_author.setdefault(item_author(item), []).append(item)
        for conn in feed.sockets:
            own = by_author.get(conn.user_id or 0)
            if own:
                conn.push_low(_batch(room, own))

    # ---- stored state of sequenced channels (Redis) ----------------------------------------

    async def snapshot(self, slug: str) -> tuple[int, str] | None:
        """The stored snapshot; a reconnect herd asking at once shares one Redis read."""
        return await self.snapshots.do(slug, lambda: self._snapshot(slug))

    async def _snapshot(self, slug: str) -> tuple[int, str] | None:
        seq, text = await self._live(slug).hmget(snapshot_key(slug), ["seq", "text"])
        return stored_pair(seq, text)

    async def timeline_since(self, slug: str, since: int) -> list[tuple[int, str]]:
        """Frames after `since`; resumes from the same point at once share one read."""
        return await self.timelines.do((slug, since), lambda: self._timeline_since(slug, since))

    async def _timeline_since(self, slug: str, since: int) -> list[tuple[int, str]]:
        rows = await self._live(slug).zrangebyscore(
            timeline_key(slug), f"({since}", "+inf", withscores=True
        )
        # withscores: (member bytes, score) pairs; the stubs type every reply shape at once.
        return [(int(score), member.decode()) for member, score in rows]  # type: ignore[str-unpack,union-attr]

    async def presence(self, slug: str) -> int:
        return await presence.watching(self.redis, slug)

    def _scoring(self) -> bool:
        """A goal went out moments ago: its sends come first (presence waits)."""
        return self._scoring_for() > 0

    def _scoring_for(self) -> float:
        """Seconds a goal (or shootout kick) just written still has this process to itself
        (0: none): new sockets and presence writes wait that long."""
        if not protocol.SPIKE_PROTECTION:
            return 0.0
        return max(0.0, self.goal_until - time.monotonic())

    def _match_counts(self) -> list[tuple[str, int]]:
        feeds = list(self.feeds.values())
        return [
            (f.channel.key, len(f.sockets) + len(f.delayed or ()))
            for f in feeds
            if f.channel.kind == "match"
        ]

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
        """Close sockets silent past the idle timeout; write heartbeats; freeze long-lived
        objects out of the garbage collector's reach (full collections over 10k sockets
        paused for ~1 s)."""
        self.heartbeat()
        deadline = time.monotonic() - protocol.IDLE_TIMEOUT_SECONDS
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


def _member(feed: _Feed, conn: Connection) -> bool:
    return conn in feed.sockets or bool(feed.delayed and conn in feed.delayed)


def _deliver_delayed(feed: _Feed, delay: int, seq: int, text: str) -> None:
    """A frame's turn for the sockets on `delay`, `delay` seconds after the others."""
    name = feed.channel.name
    reset = not seq and text.endswith('"t":"reset"}')
    for conn, wait in list((feed.delayed or {}).items()):
        if wait == delay:
            if reset:
                conn.seqs[name] = 0
            conn.deliver(name, seq, text)


def _remember(arrived: dict[int, tuple[float, bool]], seq: int, value: tuple[float, bool]) -> None:
    arrived[seq] = value
    if len(arrived) > ARRIVALS_KEPT:
        del arrived[min(arrived)]


def frame_seq(text: str) -> int:
    """The seq of an encoded frame without decoding it (frames put "seq" right after "t")."""
    start = text.find('"seq":')
    if start < 0:
        return 0
    digits = itertools.takewhile(str.isdigit, text[start + 6 : start + 20])
    return int("".join(digits) or 0)


def item_author(item: str) -> int:
    """The author id of a message item (`{"id":..,"u":<id>,...`) without decoding it."""
    start = item.find('"u":') + 4
    digits = itertools.takewhile(str.isdigit, item[start : start + 14])
    return int("".join(digits) or 0)


def _batch(room: str, items: list[str]) -> str:
    return f'{{"ch":"{room}","t":"msgs","d":[{",".join(items)}]}}'


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
