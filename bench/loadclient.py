"""A minimal WebSocket client for load generation: thousands of sockets per process.

The load client shares the two cores with the servers under test, so every microsecond it
spends per frame is taken from them. A full client library (handshake validation, frame
objects, a task per socket, JSON decoding) cost more CPU than the servers; this one is an
asyncio Protocol per socket that parses the few frame shapes servers send and finds `seq`
with a string search. It answers pings (servers close sockets that do not).
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (RFC 6455 requires clients to mask)."""
    mask = os.urandom(4)
    header = bytes([0x80 | opcode])
    length = len(payload)
    if length < 126:
        header += bytes([0x80 | length])
    elif length < 65536:
        header += bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", length)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def goal_seq(payload: bytes) -> int | None:
    """The seq of a goal frame, compact (`"seq":7`) or spaced (`"seq": 7`) JSON; else None."""
    if b'"goal"' not in payload:
        return None
    start = payload.find(b'"seq":')
    if start < 0:
        return None
    start += 6
    while payload[start] == 0x20:
        start += 1
    end = start
    while 48 <= payload[end] <= 57:
        end += 1
    return int(payload[start:end])


def run_client(main: Coroutine[Any, Any, None]) -> None:
    """A load-client process's event loop: uvloop when installed (cheaper per socket)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main)


class LoadSocket(asyncio.Protocol):
    def __init__(self, host: str, path: str, origin: str, first: bytes) -> None:
        self.host, self.path, self.origin, self.first = host, path, origin, first
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False
        self.received: list[tuple[int, float]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {self.origin}\r\n\r\n"
        )
        transport.write(request.encode())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.buffer.startswith(b"HTTP/1.1 101"):
                self._fail("handshake refused")
                return
            self.buffer = self.buffer[end + 4 :]
            self.upgraded = True
            self.transport.write(client_frame(OP_TEXT, self.first))  # type: ignore[union-attr]
        self._frames()

    def _frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            opcode, length, offset = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    break
                length, offset = struct.unpack("!H", buf[2:4])[0], 4
            elif length == 127:
                if len(buf) < 10:
                    break
                length, offset = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < offset + length:
                break
            payload, buf = buf[offset : offset + length], buf[offset + length :]
            self._frame(opcode, payload)
        self.buffer = buf

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode == OP_TEXT:
            if not self.ready.done():
                self.ready.set_result(None)  # the answer to our first frame
                return
            now = time.time()
            # A message may carry several frames, one per line (docs/protocol.md).
            for line in payload.split(b"\n") if b"\n" in payload else (payload,):
                seq = goal_seq(line)
                if seq is not None:
                    self.received.append((seq, now))
        elif opcode == OP_PING:
            self.transport.write(client_frame(OP_PONG, payload))  # type: ignore[union-attr]
        elif opcode == OP_CLOSE:
            self.closed = True
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            if code == BUSY and not self.ready.done():
                # Admission control (docs/protocol.md): come back after the hint.
                hint = payload[2:].decode(errors="replace").removeprefix("retry=")
                self.ready.set_exception(Busy(int(hint) if hint.isdigit() else 1000))

    def _fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
        self.transport.close()  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("connection lost"))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(OP_CLOSE, struct.pack("!H", 1000)))
            self.transport.close()


BUSY = 4014


class Busy(ConnectionError):
    """The server turned the socket away (4014); `retry_ms` says when to come back."""

    def __init__(self, retry_ms: int) -> None:
        super().__init__(f"busy, retry in {retry_ms} ms")
        self.retry_ms = retry_ms


async def open_socket(
    url: str, origin: str, first: bytes, timeout: float, attempts: int = 30
) -> LoadSocket:
    """A socket that has had its first frame answered; turned away by admission control, it
    comes back when the server says, as a fan's app does (bounded)."""
    for _ in range(attempts - 1):
        try:
            return await _open_once(url, origin, first, timeout)
        except Busy as busy:
            await asyncio.sleep(busy.retry_ms / 1000)
    return await _open_once(url, origin, first, timeout)


async def _open_once(url: str, origin: str, first: bytes, timeout: float) -> LoadSocket:
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    host = f"{parts.hostname}:{parts.port}"
    _, protocol = await asyncio.wait_for(
        loop.create_connection(
            lambda: LoadSocket(host, parts.path or "/", origin, first), parts.hostname, parts.port
        ),
        timeout,
    )
    await asyncio.wait_for(protocol.ready, timeout)
    return protocol
