"""Daphne with the gateway's documented limits enforced (scripts/serve.sh runs it).

Stock Daphne differs from uvicorn in three ways that clients notice (docs/protocol.md):
- a protocol violation (invalid UTF-8 text, a message over the size limit) drops the TCP
  connection (autobahn's `failByDrop`) instead of closing with 1007 / 1009;
- its message limit is its own, not the documented one;
- a send never waits: Twisted buffers without bound, so a client that stops reading grows
  the server's memory instead of being closed with 4012 like on uvicorn.
This module subclasses Daphne's WebSocket protocol and factory to fix all three, and runs
Daphne's own command line with them: `python -m gateway.daphne_server <daphne args>`.
"""

from __future__ import annotations

import sys
from typing import Any

from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol

# Copies, not imports: importing realtime.protocol would need Django settings before Daphne
# has set them up (tests/gateway/test_daphne_limits.py keeps them equal).
SEND_QUEUE_LIMIT = 64  # gateway.limits.SEND_QUEUE_LIMIT
CLOSE_SLOW = 4012  # realtime.protocol.CLOSE_SLOW
MAX_MESSAGE_BYTES = 1_048_576  # gateway.limits.SERVER_MAX_MESSAGE_BYTES (1 MiB)


class LimitedWebSocketProtocol(WebSocketProtocol):
    """Closes a socket whose client stopped reading, as the hub does on uvicorn.

    The protocol registers as the TCP transport's streaming producer: Twisted pauses it when
    more than its buffer size (64 KiB) waits unsent, and resumes it when the buffer drains.
    Frames sent while paused are counted; past SEND_QUEUE_LIMIT the socket is closed (4012)
    and, as the client does not read, dropped after the close handshake timeout.
    """

    _paused = False
    _behind = 0

    def onOpen(self) -> None:
        super().onOpen()
        # Daphne's HTTP channel registered itself as the producer before the upgrade.
        if getattr(self.transport, "producer", None) is not None:
            self.transport.unregisterProducer()
        self.transport.registerProducer(self, True)

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused, self._behind = False, 0

    def stopProducing(self) -> None:
        self._paused = True

    def serverSend(self, content: Any, binary: bool = False) -> None:
        if self._paused:
            self._behind += 1
            if self._behind > SEND_QUEUE_LIMIT:
                if self.state == self.STATE_OPEN:
                    self.serverClose(CLOSE_SLOW)
                return
        super().serverSend(content, binary)


class LimitedWebSocketFactory(WebSocketFactory):
    protocol = LimitedWebSocketProtocol

    def setProtocolOptions(self, **options: Any) -> None:
        options.update(
            failByDrop=False,  # violations close with 1007/1009, not a TCP reset
            maxMessagePayloadSize=MAX_MESSAGE_BYTES,
            maxFramePayloadSize=MAX_MESSAGE_BYTES,
            closeHandshakeTimeout=5,  # then a client that does not answer is dropped
        )
        super().setProtocolOptions(**options)


def main(argv: list[str]) -> None:
    # Daphne's Server builds its factory from this module-level name.
    daphne_server.WebSocketFactory = LimitedWebSocketFactory
    CommandLineInterface().run(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
