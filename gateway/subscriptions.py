"""Subscriptions of one socket: `sub` and `unsub`, and what brings a socket up to date on a
channel (a match's snapshot or missed frames, a chat room's history). A part of the gateway
consumer (gateway/consumers.py), in a module of its own."""

from __future__ import annotations

import asyncio
from typing import Any, TypeGuard

from channels.db import database_sync_to_async

import chat.sockets as chat
from chat.live import history_text
from core.errors import UNAVAILABLE
from gateway.connection import Connection
from gateway.hub import Hub
from matches.selectors import live_snapshot_or_rebuild
from realtime import protocol as P
from realtime.channels import Channel, match_channel, parse_channel
from realtime.frames import reply_text
from realtime.publish import Stored

ClientFrame = dict[str, Any]  # a parsed client op

snapshot_from_database = database_sync_to_async(live_snapshot_or_rebuild)


def is_int(value: object) -> TypeGuard[int]:
    """A JSON integer: bool is an int subclass in Python, but `true` is not a number."""
    return isinstance(value, int) and not isinstance(value, bool)


class Subscriptions:
    hub: Hub
    conn: Connection
    user_id: int | None

    def _send(self, text: str) -> None:
        raise NotImplementedError

    def _error(self, code: str, message: str, **extra: Any) -> None:
        raise NotImplementedError

    async def on_sub(self, frame: ClientFrame) -> None:
        channel = self._channel(frame)
        if channel is None:
            return
        since = frame.get("since")
        if since is not None and (not is_int(since) or not 0 <= since < 2**53):
            self._error(P.ERR_BAD_FRAME, "since must be a non-negative integer", ch=channel.name)
            return
        delay = frame.get("delay", 0)
        if (
            not is_int(delay)
            or not 0 <= delay <= P.MAX_DELAY_SECONDS
            or (delay and channel.kind != "match")
        ):
            self._error(
                P.ERR_BAD_FRAME,
                f"delay is whole seconds, 0 to {P.MAX_DELAY_SECONDS}, on match channels",
                ch=channel.name,
            )
            return
        if channel.private and channel.key != str(self.user_id):
            self._error(P.ERR_FORBIDDEN, "private channel", ch=channel.name)
            return
        subscribed = len(self.conn.seqs) + len(self.conn.syncing)
        if channel.name not in self.conn.seqs and subscribed >= P.MAX_SUBSCRIPTIONS:
            self._error(P.ERR_TOO_MANY_SUBS, f"at most {P.MAX_SUBSCRIPTIONS}", ch=channel.name)
            return
        if channel.kind == "match":
            await self._subscribe_match(channel, since, delay)
        elif channel.kind == "chat":
            await self._subscribe_chat(channel)
        else:
            self.conn.seqs.setdefault(channel.name, 0)
            await self.hub.join(self.conn, channel)
            self._send(reply_text(ch=channel.name, t="ok"))

    async def on_unsub(self, frame: ClientFrame) -> None:
        channel = self._channel(frame)
        if channel is None:
            return
        self.hub.leave(self.conn, channel.name)
        self._send(reply_text(ch=channel.name, t="unsub"))

    def _channel(self, frame: ClientFrame) -> Channel | None:
        name = frame.get("ch")
        if not isinstance(name, str):
            self._error(P.ERR_BAD_FRAME, "ch must be a string")
            return None
        channel = parse_channel(name)
        if channel is None:
            self._error(P.ERR_BAD_CHANNEL, "no such channel name", ch=name[:80])
        return channel

    async def _subscribe_match(self, channel: Channel, since: int | None, delay: int) -> None:
        """Join, then bring the socket up to date; live frames that arrive meanwhile are held
        and delivered after, deduplicated by seq, so nothing is missed or sent twice. With a
        spoiler delay the whole stream is shifted: what brings the socket up to date is read
        now and written `delay` seconds later, as is every live frame after it."""
        conn, name, slug = self.conn, channel.name, channel.key
        conn.syncing[name] = []
        await self.hub.join(conn, channel, delay)
        try:
            snap = await self.hub.history.snapshot(slug) or await snapshot_from_database(slug)
        except UNAVAILABLE:
            self.hub.leave(conn, name)
            raise
        if snap is None:
            self.hub.leave(conn, name)
            self._error(P.ERR_UNKNOWN_CHANNEL, "no such match", ch=name)
            return
        texts, last = await self._catch_up(slug, since, snap)
        if delay:
            asyncio.get_running_loop().call_later(delay, self._up_to_date, name, texts, last)
        else:
            self._up_to_date(name, texts, last)

    def _up_to_date(self, name: str, texts: list[str], last: int) -> None:
        conn = self.conn
        if name not in conn.syncing:  # unsubscribed (or gone) meanwhile
            return
        for text in texts:
            self._send(text)
        # The channel's own last seq moves only with what the hub writes to every socket:
        # this catch-up may have read frames from Redis before the hub's pub/sub delivered
        # them, and the hub must still write those to the others (this socket skips them
        # by its own seq).
        held = conn.syncing.pop(name, [])
        conn.seqs[name] = last
        for seq, frame in held:
            conn.deliver(name, seq, frame)

    async def _subscribe_chat(self, channel: Channel) -> None:
        """Check the room may be read, put the socket on a shard, then send `hist`. A message
        published between the join and the history read may come twice: clients drop a
        message id they already hold."""
        room_id = int(channel.key)
        refused = await chat.may_read(room_id, self.user_id, self.hub.chat.scripts)
        if refused is not None:
            self._error(refused.code, refused.message, ch=channel.name, **refused.extra())
            return
        await self.hub.chat.join(self.conn, room_id)
        self._send(await history_text(self.hub.redis, room_id, self.user_id))

    async def _catch_up(
        self, slug: str, since: int | None, snapshot: Stored
    ) -> tuple[list[str], int]:
        """What brings a socket at `since` up to date, and the seq it reaches: `ok`, the
        missed frames from the timeline, or the snapshot with the live watcher count."""
        current = snapshot.seq
        if since is not None and since == current:
            return [reply_text(ch=match_channel(slug), t="ok", seq=current)], current
        if since is not None and since < current:
            missed = await self.hub.history.since(slug, since)
            if missed and missed[0][0] == since + 1:
                return [text for _, _, text in missed], missed[-1][0]
        return [await self._watched(slug, snapshot)], current

    async def _watched(self, slug: str, snapshot: Stored) -> str:
        """The snapshot with `"w":<watchers>` written at its slot (none without a slot)."""
        text, slot = snapshot.text, snapshot.slot
        if slot < 0:
            return text
        watching = max(await self.hub.presence(slug), self.hub.watchers(match_channel(slug)))
        return f'{text[:slot]}"w":{watching},{text[slot:]}'
