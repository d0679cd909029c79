"""A TCP proxy of the tests' own between a browser and the server, to model a bad network:
connections frozen in both directions without a close (a phone in a tunnel, a NAT that
forgot the flow), a network that drops every connection for a while, and a slow one.
Playwright's WebSocket routing cannot model these: a frozen TCP flow sends nothing at all,
not even a close."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from core.net import free_port

CHUNK = 65536


class Proxy:
    """127.0.0.1:<port> forwarding to 127.0.0.1:<upstream>, run on a thread of its own."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.latency = 0.0  # seconds added to every chunk, each way
        self.refusing = False
        self._frozen: set[asyncio.Event] = set()
        self._flows: set[tuple[asyncio.Event, asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._accept, "127.0.0.1", self.port)
        )
        self._ready.set()
        self._loop.run_forever()

    def _call(self, fn, *args) -> None:  # type: ignore[no-untyped-def]
        done = threading.Event()

        def run() -> None:
            fn(*args)
            done.set()

        self._loop.call_soon_threadsafe(run)
        done.wait(5)

    # ---- what the network does -------------------------------------------------------------

    def freeze(self) -> None:
        """Every open connection stops carrying bytes, both ways, and is never closed. New
        connections flow normally (the page can recover through a fresh one)."""
        self._call(lambda: [flow[0].clear() for flow in self._flows])

    def drop(self) -> None:
        """Reset every open connection and refuse new ones until `restore`."""

        def go() -> None:
            self.refusing = True
            for _, a, b in list(self._flows):
                for writer in (a, b):
                    with contextlib.suppress(Exception):
                        writer.transport.abort()

        self._call(go)

    def refuse(self) -> None:
        """Refuse new connections; open ones stay as they are (frozen ones stay frozen)."""
        self._call(lambda: setattr(self, "refusing", True))

    def restore(self) -> None:
        self._call(lambda: setattr(self, "refusing", False))

    def slow(self, latency: float) -> None:
        self.latency = latency

    def close(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for _, a, b in list(self._flows):
                a.transport.abort()
                b.transport.abort()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # ---- forwarding ------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.transport.abort()
            return
        flowing = asyncio.Event()
        flowing.set()
        flow = (flowing, writer, up_writer)
        self._flows.add(flow)
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, flowing), self._pump(up_reader, writer, flowing)
            )
        except asyncio.CancelledError:
            pass  # the proxy is closing; asyncio would log a cancelled connection as an error
        finally:
            self._flows.discard(flow)
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flowing: asyncio.Event
    ) -> None:
        with contextlib.suppress(Exception):
            while True:
                await flowing.wait()  # frozen: neither read nor write, for ever
                data = await reader.read(CHUNK)
                if not data:
                    break
                if self.latency:
                    await asyncio.sleep(self.latency)
                await flowing.wait()
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            if flowing.is_set():
                writer.write_eof()


@contextlib.contextmanager
def proxy_to(port: int) -> Iterator[Proxy]:
    proxy = Proxy(port)
    try:
        yield proxy
    finally:
        proxy.close()
