"""Spike protection in the gateway: coalesced writes to a socket that fell behind, newest
tops replacing stale ones, admission control on new sockets, single-flight reads."""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator

from core import metrics
from core.redis import client as redis_client
from gateway import hub as hub_module
from gateway import limits
from gateway.admission import Admission, SingleFlight
from gateway.connection import Connection, latest_front
from gateway.hub import get_hub
from livescore.asgi import application
from realtime import protocol
from realtime.wire import seal
from tests.gateway.test_gateway import ORIGIN


class SlowSocket:
    """A socket whose first write stays pending until released, as a client that stopped
    reading for a moment; records every message written."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.gate = asyncio.Event()

    async def send(self, message: dict) -> None:
        self.written.append(message["text"])
        if len(self.written) == 1:
            await self.gate.wait()

    async def close(self, code: int) -> None:
        self.written.append(f"closed {code}")


def frame(channel: str, t: str, n: int) -> str:
    return f'{{"ch":"{channel}","t":"{t}","seq":{n},"d":{{"n":{n}}}}}'


def top(scope: str, n: int) -> str:
    return f'{{"ch":"leaderboard:{scope}","t":"lb","d":{{"top":[[{n},10]]}}}}'


def push_top(conn: Connection, scope: str, n: int) -> None:
    """A top as the hub hands it to a socket: with the front it replaces."""
    conn.push(top(scope, n), latest=latest_front(f"leaderboard:{scope}", "lb"))


def published(channel: str, n: int) -> bytes:
    """Goal `n` as pub/sub carries it to the hub: in its envelope."""
    return seal("goal", frame(channel, "goal", n), n).encode()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_frames_waiting_for_a_socket_go_out_together_and_single_frames_unchanged():
    socket = SlowSocket()
    conn = Connection(socket.send, socket.close, None)

    conn.push(frame("match:a", "goal", 1))
    for n in (2, 3, 4):
        conn.push(frame("match:a", "goal", n))
    socket.gate.set()
    await settle()

    assert socket.written == [
        frame("match:a", "goal", 1),
        "\n".join(frame("match:a", "goal", n) for n in (2, 3, 4)),
    ]
    conn.push(frame("match:a", "goal", 5))
    assert socket.written[-1] == frame("match:a", "goal", 5)  # keeping up: one per message


@pytest.mark.asyncio
async def test_a_newer_top_replaces_the_stale_one_waiting_and_the_score_keeps_its_order():
    socket = SlowSocket()
    conn = Connection(socket.send, socket.close, None)
    before = metrics.REPLACED.labels("lb")._value.get()

    conn.push(frame("match:a", "goal", 1))
    push_top(conn, "global", 1)
    conn.push(frame("match:a", "goal", 2))
    push_top(conn, "match:a", 7)
    push_top(conn, "global", 2)  # replaces top 1 of the same channel
    socket.gate.set()
    await settle()

    assert socket.written[1].split("\n") == [
        frame("match:a", "goal", 2),
        top("match:a", 7),
        top("global", 2),
    ]
    assert metrics.REPLACED.labels("lb")._value.get() == before + 1


@pytest.mark.asyncio
async def test_a_coalesced_message_stays_under_its_size_and_score_frames_are_never_dropped():
    socket = SlowSocket()
    conn = Connection(socket.send, socket.close, None)
    big = "x" * (limits.COALESCE_BYTES // 3)

    conn.push(frame("match:a", "goal", 1))
    for n in range(2, 8):
        conn.push(f'{{"ch":"match:a","t":"goal","seq":{n},"d":"{big}"}}')
    socket.gate.set()
    await settle()

    messages = socket.written[1:]
    assert all(len(m) <= limits.COALESCE_BYTES for m in messages)
    assert sum(len(m.split("\n")) for m in messages) == 6 and len(messages) == 3


def test_admission_lets_a_burst_in_then_spreads_the_rest():
    now = [0.0]
    admission = Admission(rate=10, burst=2, clock=lambda: now[0])

    assert admission.admit() is None and admission.admit() is None
    retry = admission.admit()
    assert retry is not None and 100 <= retry <= 1100  # one token's refill, plus jitter
    now[0] += 0.1
    assert admission.admit() is None
    assert Admission(rate=0, burst=1).admit() is None  # 0: no limit


@pytest.mark.asyncio
async def test_identical_reads_in_flight_are_made_once():
    flight, calls = SingleFlight("snapshot"), []

    async def read():
        calls.append(1)
        await asyncio.sleep(0.01)
        return "snapshot"

    results = await asyncio.gather(*(flight.do("arg-fra", read) for _ in range(100)))

    assert results == ["snapshot"] * 100 and calls == [1]
    assert await flight.do("arg-fra", read) == "snapshot" and calls == [1, 1]  # a new read

    async def broken():
        await asyncio.sleep(0.01)
        raise ConnectionError("redis down")

    outcomes = await asyncio.gather(
        *(flight.do("x", broken) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, ConnectionError) for o in outcomes)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_reconnect_storm_over_the_rate_is_told_when_to_come_back():
    redis_client().flushdb()
    hub = await get_hub()
    hub.admission = Admission(rate=1, burst=1)
    try:
        first = WebsocketCommunicator(application, "/ws/", headers=ORIGIN)
        assert (await first.connect())[0]
        second = WebsocketCommunicator(application, "/ws/", headers=ORIGIN)
        await second.connect()
        closing = await second.receive_output(timeout=3)
        while closing["type"] != "websocket.close":
            closing = await second.receive_output(timeout=3)

        assert closing["code"] == protocol.CLOSE_BUSY
        assert closing["reason"].startswith("retry=")
        assert 1000 <= int(closing["reason"].removeprefix("retry=")) <= 2000
        await first.disconnect()
    finally:
        await hub_module.release_hub()


async def test_presence_waits_while_a_goal_fans_out(monkeypatch):
    from core.redis import async_client
    from gateway import presence
    from realtime.channels import presence_key

    monkeypatch.setattr(presence, "PRESENCE_INTERVAL", 0.4)  # counts expire after 1 s
    monkeypatch.setattr(presence, "BUSY_RETRY", 0.05)
    busy_until = asyncio.get_running_loop().time() + 0.6
    redis = async_client()
    key = presence_key("presence-vs-burst-2026-06-01")
    await redis.delete(key)
    loop = asyncio.get_running_loop()
    task = loop.create_task(
        presence.write_loop(
            redis, "gw-1", lambda: [("presence-vs-burst-2026-06-01", 7)],
            busy=lambda: loop.time() < busy_until,
        )
    )  # fmt: skip
    try:
        await asyncio.sleep(0.5)  # an interval has passed, but a goal is still going out
        assert await redis.hget(key, "gw-1") is None
        await asyncio.sleep(0.4)
        assert await redis.hget(key, "gw-1") == b"7"
    finally:
        task.cancel()
        await redis.delete(key)
        await redis.aclose()


def test_admission_turns_a_herd_away_while_a_goal_goes_out():
    busy, now = [0.25], [0.0]
    admission = Admission(rate=1, burst=10, clock=lambda: now[0], busy=lambda: busy[0])
    # Calm: a fan opening the app just after a goal is let in.
    assert admission.admit() is None
    # A herd has spent half the burst: during the goal's window everyone waits for it.
    for _ in range(5):
        assert admission.admit() is None
    retry = admission.admit()
    assert retry is not None and 250 <= retry <= 1250  # the goal's window, plus jitter
    busy[0] = 0.0
    assert admission.admit() is None


class OpenSocket:
    """A socket that takes every write at once."""

    def __init__(self) -> None:
        self.written: list[str] = []

    async def send(self, message: dict) -> None:
        self.written.append(message["text"])

    async def close(self, code: int) -> None:
        self.written.append(f"closed {code}")


async def test_a_resume_ahead_of_the_hub_never_hides_a_frame_from_the_others():
    """A resuming socket's catch-up may read frames from Redis before the hub's pub/sub
    delivers them; those frames must still reach every other socket on the channel."""
    from types import SimpleNamespace

    from gateway.consumers import GatewayConsumer
    from realtime.channels import parse_channel

    hub = await get_hub()
    try:
        channel = parse_channel("match:resume-vs-race-2026-06-01")
        watching, resuming = OpenSocket(), OpenSocket()
        a = Connection(watching.send, watching.close, None)
        b = Connection(resuming.send, resuming.close, None)
        await hub.join(a, channel)
        await hub.join(b, channel)
        await hub._dispatch(channel.pubsub, published(channel.name, 1))

        # b resumes: its catch-up read seq 2 and 3 from the timeline, ahead of the hub.
        b.syncing[channel.name] = []
        late = [frame(channel.name, "goal", n) for n in (2, 3)]
        consumer = SimpleNamespace(conn=b, _send=b.push)
        GatewayConsumer._up_to_date(consumer, channel.name, late, 3)
        for n in (2, 3):
            await hub._dispatch(channel.pubsub, published(channel.name, n))
        await settle()

        assert watching.written == [frame(channel.name, "goal", n) for n in (1, 2, 3)]
        assert resuming.written == [frame(channel.name, "goal", n) for n in (1, 2, 3)]
    finally:
        await hub_module.release_hub()
