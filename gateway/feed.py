"""A channel as one gateway process holds it: its local sockets and its delivery state."""

from __future__ import annotations

import asyncio

from gateway.connection import Connection
from realtime.channels import Channel
from realtime.wire import Envelope


class Feed:
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
        # frames that arrived ahead of a gap, seq -> envelope, held for at
        # most limits.HOLD_SECONDS for the missing ones (two workers publish out of order)
        self.held: dict[int, Envelope] | None = None
        self.ready: asyncio.Future[None] | None = None
        # chat shards: (author, message item) gathered for the next tick's batch
        self.pending: list[tuple[int, str]] | None = [] if channel.kind == "chat" else None
        # match channels: seq -> (monotonic time the hub wrote it, goal or not) for the last
        # limits.ARRIVALS_KEPT frames, what clients' latency reports are measured against
        self.arrived: dict[int, tuple[float, bool]] | None = {} if channel.kind == "match" else None

    def has(self, conn: Connection) -> bool:
        return conn in self.sockets or bool(self.delayed and conn in self.delayed)

    def count(self) -> int:
        return len(self.sockets) + len(self.delayed or ())
