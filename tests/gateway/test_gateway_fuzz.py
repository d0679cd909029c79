"""Hostile and random client frames against the gateway, in-process on a real Redis: every
frame gets a documented error frame or close code, no handler crashes the consumer, no
socket is left behind in the hub, and a neighbour on the same match keeps its goals."""

import json
import random

import pytest

from gateway import consumers
from gateway.hub import get_hub
from realtime import protocol
from tests.gateway.test_gateway import closed_with, connect, frame, goal, kick_off, sub

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ERROR_CODES = {v for k, v in vars(protocol).items() if k.startswith("ERR_")}
CLOSE_CODES = {v for k, v in vars(protocol).items() if k.startswith("CLOSE_")}
REPLIES = {"snap", "ok", "unsub", "pong", "err"}

HOSTILE = [
    '{"op":"sub","ch":"match:SLUG","since":true}',
    '{"op":"sub","ch":"match:SLUG","since":false}',
    '{"op":"sub","ch":"match:SLUG","since":1.5}',
    '{"op":"sub","ch":"match:SLUG","since":"3"}',
    '{"op":"sub","ch":"match:SLUG","since":1e308}',
    '{"op":"sub","ch":"match:SLUG","since":123456789012345678901234567890}',
    '{"op":"sub","ch":["match:SLUG"]}',
    '{"op":"sub","ch":{"a":1}}',
    '{"op":"sub","ch":null}',
    '{"op":"unsub","ch":7}',
    '{"op":["sub"]}',
    '{"op":null}',
    '{"op":{"$ne":1}}',
    '{"op":"sub","ch":"match:SLUG","since":{"a":[[[[1]]]]}}',
    "[" * 2000 + "]" * 2000,
    '{"":' * 800 + "1" + "}" * 800,
    '"just a string"',
    "NaN",
    '{"op":"sub","ch":"match:\\u0000"}',
]


@pytest.fixture(autouse=True)
def generous_rate(monkeypatch):
    # The fuzz sends far more than a fan would: the rate limit is tested on its own.
    monkeypatch.setattr(protocol, "RATE_BURST", 10_000)
    monkeypatch.setattr(protocol, "RATE_PER_SECOND", 10_000.0)


async def test_hostile_frames_get_documented_errors_and_leak_nothing(match, home):
    await kick_off(match)
    neighbour = await connect()
    await sub(neighbour, f"match:{match.slug}")
    hostile = await connect()

    codes = []
    for text in HOSTILE:
        await hostile.send_to(text_data=text.replace("SLUG", match.slug))
        reply = await frame(hostile)
        assert reply["t"] == "err", text
        codes.append(reply["code"])
    await goal(match, home, 10)
    neighbour_frame = await frame(neighbour)
    await hostile.disconnect()
    await neighbour.disconnect()

    assert set(codes) <= {protocol.ERR_BAD_FRAME, protocol.ERR_BAD_JSON, protocol.ERR_BAD_CHANNEL}
    assert neighbour_frame["t"] == "goal" and neighbour_frame["d"]["s"] == [1, 0]
    hub = await get_hub()
    assert hub.connections == {} and hub.feeds == {}


def _value(rng: random.Random, slug: str) -> object:
    return rng.choice(
        [
            None,
            True,
            False,
            0,
            -1,
            2**63,
            1.5,
            "",
            "x" * 90,
            f"match:{slug}",
            "user:1",
            "leaderboard:global",
            "chat:room:1",
            [],
            {},
            [f"match:{slug}"],
            {"k": [1, {"k": None}]},
        ]
    )


def random_frame(rng: random.Random, slug: str) -> str:
    fields = {"op": rng.choice(["sub", "unsub", "ping", "auth", "say", None, 3, [], "SUB"])}
    for key in rng.sample(["ch", "since", "token", "text", "cid", "extra"], rng.randint(0, 4)):
        fields[key] = _value(rng, slug)
    return json.dumps(fields)


async def test_random_frames_always_get_a_documented_answer(match, home):
    rng = random.Random(20261127)
    await kick_off(match)
    neighbour = await connect()
    await sub(neighbour, f"match:{match.slug}")
    ws = await connect()
    closes = 0
    for _ in range(400):
        await ws.send_to(text_data=random_frame(rng, match.slug))
        output = await ws.receive_output(timeout=3)
        if output["type"] == "websocket.close":
            assert output.get("code") in CLOSE_CODES
            closes += 1
            ws = await connect()
            continue
        reply = json.loads(output["text"])
        assert reply["t"] in REPLIES
        if reply["t"] == "err":
            assert reply["code"] in ERROR_CODES
        if reply["t"] == "snap":  # a match subscription: the next frames are live ones
            await ws.send_json_to({"op": "unsub", "ch": reply["ch"]})
            assert (await frame(ws))["t"] == "unsub"
    await goal(match, home, 10)
    neighbour_frame = await frame(neighbour)
    await ws.disconnect()
    await neighbour.disconnect()

    assert neighbour_frame["t"] == "goal"
    hub = await get_hub()
    assert hub.connections == {} and hub.feeds == {}


async def test_a_failing_handler_closes_with_4000_and_releases_the_socket(match, monkeypatch):
    async def broken(self, frame):
        raise RuntimeError("a defect")

    monkeypatch.setattr(consumers.GatewayConsumer, "on_sub", broken)
    ws = await connect()

    await ws.send_json_to({"op": "sub", "ch": f"match:{match.slug}"})

    assert await closed_with(ws) == protocol.CLOSE_INTERNAL
    hub = await get_hub()
    assert hub.connections == {}


async def test_frame_size_is_measured_in_utf8_bytes(match):
    ws = await connect()

    # 2,125 characters, 4,225 bytes: over the 4,096-byte limit.
    await ws.send_to(text_data=json.dumps({"op": "ping", "pad": "é" * 2100}, ensure_ascii=False))

    assert await closed_with(ws) == protocol.CLOSE_TOO_BIG
