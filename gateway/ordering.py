"""Ordered, complete delivery of sequenced channels (matches) in one gateway process.

Frames of a match carry `seq`. Pub/sub is lossy and two workers may publish out of order, so
a frame that arrives ahead of a gap first pulls the missing frames from the Redis timeline;
one the timeline cannot fill yet (its predecessor's publish is still on the way) is held for
at most limits.HOLD_SECONDS, then goes out anyway and clients resume across the gap with
`since`. After a pub/sub connection comes back, what each channel stored meanwhile is
delivered (`recover`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from gateway import limits
from gateway.connection import spawn
from gateway.feed import Feed
from gateway.history import History
from realtime.channels import redis_url_of
from realtime.wire import Envelope

logger = logging.getLogger("livescore.realtime")

Fanout = Callable[[Feed, Envelope], None]  # a live frame to every local socket, traced
Broadcast = Callable[[Feed, int, str, str], float]  # (feed, seq, type, text), untraced


class Ordering:
    def __init__(self, history: History, fanout: Fanout, broadcast: Broadcast) -> None:
        self.history, self.fanout, self.broadcast = history, fanout, broadcast

    async def accept(self, feed: Feed, frame: Envelope) -> None:
        """A sequenced frame from pub/sub: delivered once, in order."""
        seq = frame.seq
        if seq <= feed.last_seq:
            return  # already delivered (a replay, or a publish raced by a newer one)
        if feed.last_seq and seq > feed.last_seq + 1:
            await self._fill_gap(feed, seq)
            if seq <= feed.last_seq:
                return
            if seq > feed.last_seq + 1:
                self._hold(feed, frame)
                return
        self.fanout(feed, frame)
        self._release_next(feed)

    async def _fill_gap(self, feed: Feed, seq: int) -> None:
        """Deliver, from the timeline, the frames between the last delivered and `seq` that
        are stored already, in order, stopping at the first still missing."""
        for missing_seq, t, text in await self.history.since(feed.channel.key, feed.last_seq):
            if missing_seq >= seq or missing_seq != feed.last_seq + 1:
                break
            self.broadcast(feed, missing_seq, t, text)

    def _hold(self, feed: Feed, frame: Envelope) -> None:
        first = not feed.held
        feed.held = feed.held or {}
        feed.held[frame.seq] = frame
        if first:
            asyncio.get_running_loop().call_later(
                limits.HOLD_SECONDS, lambda: spawn(self._give_up_waiting(feed))
            )

    def _release_next(self, feed: Feed) -> None:
        """Held frames that are now next in line go out."""
        while feed.held and (nxt := feed.held.pop(feed.last_seq + 1, None)) is not None:
            self.fanout(feed, nxt)
        if feed.held:
            for old in [s for s in feed.held if s <= feed.last_seq]:
                del feed.held[old]

    async def _give_up_waiting(self, feed: Feed) -> None:
        """The hold ran out: what the timeline has now, then every held frame in order."""
        if not feed.held:
            return
        await self._fill_gap(feed, min(feed.held))
        held, feed.held = feed.held, None
        for seq in sorted(held):
            if seq > feed.last_seq:
                self.fanout(feed, held[seq])

    async def recover(self, url: str, feeds: list[Feed]) -> None:
        """After a pub/sub connection came back: deliver what each match channel on that
        server stored while it was away. A server that restarted empty has nothing; its
        matches' next frames then show clients a gap, and they resync (docs/protocol.md)."""
        for feed in feeds:
            if feed.channel.kind != "match" or not feed.last_seq:
                continue
            if redis_url_of(feed.channel.name) != url:
                continue
            missed = await self.history.since(feed.channel.key, feed.last_seq)
            for seq, t, text in missed:
                if seq > feed.last_seq:
                    self.broadcast(feed, seq, t, text)
            logger.info(
                "recovered %s after seq=%s frames=%s", feed.channel.name, feed.last_seq, len(missed)
            )

    @staticmethod
    def reset(feed: Feed) -> None:
        """The object behind the channel was re-created: its seq starts over."""
        feed.last_seq = 0
        feed.held = None
        for conn in feed.sockets:
            conn.seqs[feed.channel.name] = 0
