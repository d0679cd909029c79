"""The floor for bench/fanout.py: a minimal pure-asyncio `websockets` broadcaster.

One Redis pub/sub subscription; each frame is written, pre-encoded, to every socket with
`websockets.broadcast`. No Django, no Channels, no protocol beyond answering the first frame.
"""

import asyncio
import sys

import redis.asyncio as aioredis
from websockets.asyncio.server import broadcast, serve

CONNECTIONS: set = set()


async def handler(ws) -> None:
    await ws.recv()  # the client's {"op":"sub"}
    await ws.send('{"t":"ok"}')
    CONNECTIONS.add(ws)
    try:
        await ws.wait_closed()
    finally:
        CONNECTIONS.discard(ws)


async def relay(redis_url: str, channel: str) -> None:
    pubsub = aioredis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    async for message in pubsub.listen():
        broadcast(CONNECTIONS, message["data"].decode())


async def main(port: int, redis_url: str, channel: str) -> None:
    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None):
        await relay(redis_url, channel)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
