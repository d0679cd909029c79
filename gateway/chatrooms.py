"""Chat rooms in one gateway process: room shards, the tick that batches messages, kicks.

Rooms are read in shards (docs/chat.md): a shard's messages are gathered for one tick
(CHAT_TICK_MS) and written as one `msgs` frame of at most CHAT_TICK_MAX messages, the newest,
to each local socket on the shard, in the best-effort class (gateway/connection.py). A
message left out by that budget still reaches its author's own sockets. Room-wide frames
(`del`, `room`) go out at once; `kick` takes a user's sockets off the room. Ticks wait while
a score frame has the process (limits.SCORE_FIRST_SECONDS).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from typing import TYPE_CHECKING

from django.conf import settings

import chat.live as chat_live
from chat.frames import batch_frame, unsub_frame
from core import metrics
from gateway.connection import Connection, spawn
from gateway.feed import Feed
from realtime.channels import chat_channel, chat_shard
from realtime.wire import Envelope

if TYPE_CHECKING:
    from gateway.hub import Hub


class ChatRooms:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.scripts = chat_live.Scripts(hub.redis)
        # what the best-effort class gave up (bench/chat.py and the metrics read these)
        self.stats: Counter[str] = Counter()

    async def join(self, conn: Connection, room_id: int) -> None:
        """Put a socket on a shard of the room (the first with room for one more listener);
        its frames then arrive as the room's (`chat:room:<id>`)."""
        name = chat_channel(room_id)
        if conn.chat and name in conn.chat:
            return
        shard = await chat_live.join_shard(self.scripts, room_id)
        await self.hub.join(conn, chat_shard(room_id, shard))
        if conn.chat is None:
            conn.chat = {}
        conn.chat[name] = (room_id, shard)
        conn.seqs[name] = 0

    def leave(self, conn: Connection, name: str) -> bool:
        """Take a socket off a room it reads (False: `name` is no room of this socket's)."""
        if not conn.chat or name not in conn.chat:
            return False
        room_id, shard = conn.chat.pop(name)
        self.hub.leave_feed(chat_shard(room_id, shard).name, conn)
        spawn(self.leave_shard(room_id, shard))
        return True

    def forget(self, conn: Connection) -> None:
        """A socket went: the shard counts it held go down."""
        for room_id, shard in (conn.chat or {}).values():
            spawn(self.leave_shard(room_id, shard))
        conn.chat = None

    async def leave_shard(self, room_id: int, shard: int) -> None:
        with contextlib.suppress(Exception):  # Redis away: the count expires with the room
            await chat_live.leave_shard(self.scripts, room_id, shard)

    def dispatch(self, feed: Feed, frame: Envelope) -> None:
        """A frame published on one of the room's shards."""
        if frame.t == "m":  # a message: batched at the next tick
            feed.pending.append((frame.user, frame.text))  # type: ignore[union-attr]
        elif frame.t == "kick":
            self._kick(feed, frame)
        else:  # del, room: room-wide, at once and never dropped
            self.hub.broadcast(feed, 0, frame.t, frame.text)

    def _kick(self, feed: Feed, frame: Envelope) -> None:
        # A kick is rare and for the gateways only: its reason is read from its payload.
        reason = json.loads(frame.text)["d"]["r"]
        room_id = int(feed.channel.key)
        name, text = chat_channel(room_id), unsub_frame(room_id, reason)
        for conn in [c for c in feed.sockets if c.user_id == frame.user]:
            self.hub.leave(conn, name)
            conn.push(text)
            self.stats["chat_kicked"] += 1

    async def tick_loop(self) -> None:
        tick = settings.CHAT_TICK_MS / 1000
        while True:
            await asyncio.sleep(tick)
            while (wait := self.hub.score_first_until - time.monotonic()) > 0:
                self.stats["chat_ticks_deferred"] += 1
                await asyncio.sleep(wait)
            for feed in [f for f in self.hub.feeds.values() if f.pending]:
                self.flush(feed)
                await asyncio.sleep(0)  # a goal that arrived meanwhile goes out between shards

    def flush(self, feed: Feed) -> None:
        """One `msgs` frame with the tick's newest messages to every socket on the shard; an
        author whose message the budget left out still gets it on their own sockets."""
        items, feed.pending = feed.pending or [], []
        budget = settings.CHAT_TICK_MAX
        kept, left_out = items[-budget:], items[:-budget]
        room_id = int(feed.channel.key)
        text = batch_frame(room_id, [item for _, item in kept])
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
            self._own_messages(feed, room_id, left_out)

    @staticmethod
    def _own_messages(feed: Feed, room_id: int, items: list[tuple[int, str]]) -> None:
        by_author: dict[int, list[str]] = {}
        for author, item in items:
            by_author.setdefault(author, []).append(item)
        for conn in feed.sockets:
            own = by_author.get(conn.user_id or 0)
            if own:
                conn.push_low(batch_frame(room_id, own))
