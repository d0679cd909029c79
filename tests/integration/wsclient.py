"""A real WebSocket client for the integration tests, as a fan's app would use it."""

import asyncio
import json
from typing import Any

from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


class Fan:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.waiting: list[dict[str, Any]] = []  # frames of a message not yet returned

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> "Fan":
        origin = kwargs.pop("origin", settings.WS_ALLOWED_ORIGINS[0])
        ws = await connect(url, origin=origin, open_timeout=10, **kwargs)
        return cls(ws)

    async def send(self, payload: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(payload))

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        """The next frame; a message carrying several (separated by "\n") is split."""
        if not self.waiting:
            message = await asyncio.wait_for(self.ws.recv(), timeout)
            self.waiting.extend(json.loads(line) for line in message.split("\n") if line)
        frame = self.waiting.pop(0)
        self.frames.append(frame)
        return frame

    async def recv_until(self, done, timeout: float = 30) -> list[dict[str, Any]]:
        """Frames up to and including the first one for which done(frame) is true."""
        got = []
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                got.append(frame)
                if done(frame):
                    return got

    async def quiet(self, seconds: float = 0.5) -> bool:
        """True when nothing arrives for `seconds`."""
        try:
            await self.recv(seconds)
        except TimeoutError:
            return True
        return False

    async def close_code(self, timeout: float = 15) -> int | None:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.ws.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    async def close(self) -> None:
        await self.ws.close()
