"""The gateway process's one Redis pub/sub connection: subscribed once to each channel that
at least one local socket watches, and to the process's control channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

logger = logging.getLogger("livescore.realtime")

OnMessage = Callable[[str, bytes], Awaitable[None]]
OnReconnect = Callable[[], Awaitable[None]]


class Broker:
    def __init__(
        self, redis: aioredis.Redis, on_message: OnMessage, on_reconnect: OnReconnect
    ) -> None:
        self._pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        # redis-py's listen() returns at once while nothing is subscribed: a live-state
        # shard's broker waits on this instead of spinning until its first match channel.
        self._subscribed = asyncio.Event()

    async def subscribe(self, pubsub_channel: str) -> None:
        await self._pubsub.subscribe(pubsub_channel)
        self._subscribed.set()

    async def unsubscribe(self, pubsub_channel: str) -> None:
        with contextlib.suppress(Exception):
            await self._pubsub.unsubscribe(pubsub_channel)

    async def listen(self) -> None:
        """Deliver every message to `on_message(pubsub channel, data)`, for ever. A broken
        connection is reopened and resubscribed (redis-py does it on connect); then
        `on_reconnect` runs, to recover what was published while it was down."""
        while True:
            await self._subscribed.wait()
            try:
                async for message in self._pubsub.listen():
                    if message["type"] == "message":
                        await self._on_message(message["channel"].decode(), message["data"])
                if not self._pubsub.subscribed:
                    self._subscribed.clear()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub listener failed; resubscribing")
                await asyncio.sleep(1)
                with contextlib.suppress(Exception):
                    await self._pubsub.ping()  # reconnects and resubscribes, or raises
                    await self._on_reconnect()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
