"""The documented socket limits on both servers, across real processes (docs/protocol.md):
frame sizes in bytes (4009) and the servers' own limit (1009), invalid UTF-8 (1007), and a
client that stops reading or goes silent is closed and released while a neighbour keeps
receiving."""

import asyncio
import json
import time

import pytest
import redis.asyncio as aioredis
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from core.redis import client as redis_client
from gateway import limits
from realtime import channels, protocol
from realtime.wire import seal
from tests.integration.wsclient import Fan

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
KINDS = ["daphne", "uvicorn"]


async def close_code_after(ws, payload, **send) -> int | None:
    await ws.send(payload, **send)
    try:
        async with asyncio.timeout(15):
            while True:
                await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


@pytest.mark.parametrize("kind", KINDS)
def test_size_and_encoding_limits_close_with_documented_codes(servers, kind):
    url, origin = servers[kind].ws_url, settings.WS_ALLOWED_ORIGINS[0]

    async def scenario():
        codes = {}
        cases = {
            "bytes": (json.dumps({"op": "ping", "p": "é" * 2100}, ensure_ascii=False), {}),
            "server": ("x" * (limits.SERVER_MAX_MESSAGE_BYTES + 1), {}),
            "utf8": (b'{"op":"ping","p":"\xff\xfe"}', {"text": True}),
        }
        for name, (payload, send) in cases.items():
            async with connect(url, origin=origin, max_size=None) as ws:
                codes[name] = await close_code_after(ws, payload, **send)
        return codes

    codes = asyncio.run(scenario())

    assert codes == {"bytes": protocol.CLOSE_TOO_BIG, "server": 1009, "utf8": 1007}


def watchers(slug: str) -> int:
    counts = redis_client().hvals(channels.presence_key(slug))
    return sum(int(c) for c in counts)


@pytest.mark.parametrize("kind", KINDS)
def test_a_client_that_stops_reading_is_closed_and_released(servers, match, kind):
    server, channel = servers[kind], f"match:{match.slug}"
    pad = json.dumps({"ch": channel, "t": "pad", "d": "x" * 60_000})

    async def scenario():
        good = await Fan.connect(server.ws_url)
        # max_queue=1 and no reads: once one frame waits, the client stops reading the socket.
        stalled = await connect(
            server.ws_url, origin=settings.WS_ALLOWED_ORIGINS[0], max_queue=1, max_size=None
        )
        silent = await Fan.connect(server.ws_url)
        for fan in (good, silent):
            await fan.send({"op": "sub", "ch": channel})
            await fan.recv()
        await stalled.send(json.dumps({"op": "sub", "ch": channel}))
        for _ in range(6):  # presence is written every 5 s; the good socket stays active
            await asyncio.sleep(1)
            await good.send({"op": "ping"})
        before = watchers(match.slug)
        pads = 0

        async def read_all() -> None:
            nonlocal pads
            async for text in good.ws:
                pads += '"pad"' in text

        reader = asyncio.create_task(read_all())
        sender = aioredis.Redis.from_url(settings.REDIS_URL)
        pinged = 0.0
        for _ in range(600):  # 36 MB: more than any socket buffer on the way
            await sender.publish(channels.pubsub_name(channel), seal("pad", pad))
            await asyncio.sleep(0.01)
            if time.monotonic() - pinged > 0.5:  # alive for the idle sweep, under the rate
                pinged = time.monotonic()
                await good.send({"op": "ping"})
        released = False
        for _ in range(30):  # the stalled and the silent (idle) sockets go
            await good.send({"op": "ping"})
            await asyncio.sleep(1)
            if watchers(match.slug) == 1:
                released = True
                break
        await good.close()
        await stalled.close()
        reader.cancel()
        await sender.aclose()
        return before, pads, released

    before, pads, released = asyncio.run(scenario())

    assert before == 3
    assert pads == 600  # the neighbour got every frame
    assert released
