"""The gateway consumer in-process, on a real Redis (its hub subscribes for real)."""

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from rest_framework.authtoken.models import Token

from core import metrics
from core.redis import client as redis_client
from gateway import hub as hub_module
from gateway import limits
from gateway.hub import get_hub
from livescore.asgi import application
from matches.models import MatchStatus
from matches.services import match_change_status, match_record_goal
from realtime import protocol, publish
from realtime.publish import sealed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
ORIGIN = [(b"origin", settings.WS_ALLOWED_ORIGINS[0].encode())]


@pytest.fixture(autouse=True)
async def clean_redis():
    redis_client().flushdb()
    yield
    await hub_module.release_hub()


async def connect(path: str = "/ws/", headers=ORIGIN) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await ws.connect()
    assert connected
    return ws


async def frame(ws: WebsocketCommunicator) -> dict:
    return json.loads(await ws.receive_from(timeout=3))


def is_pong(got: dict) -> bool:
    """`pong` carries the server's clock (docs/protocol.md, "Liveness")."""
    return (
        got["t"] == "pong" and set(got) == {"t", "ts"} and abs(got["ts"] / 1000 - time.time()) < 5
    )


async def closed_with(ws: WebsocketCommunicator) -> int:
    while True:
        message = await ws.receive_output(timeout=3)
        if message["type"] == "websocket.close":
            return message.get("code", 1000)


async def sub(ws, channel: str, **extra) -> dict:
    await ws.send_json_to({"op": "sub", "ch": channel, **extra})
    return await frame(ws)


async def goal(match, team, minute: int) -> None:
    await sync_to_async(match_record_goal)(match=match, team=team, minute=minute)


async def kick_off(match) -> None:
    await sync_to_async(match_change_status)(match=match, status=MatchStatus.FIRST_HALF)


async def test_sub_sends_a_snapshot_then_live_deltas(match, home):
    await kick_off(match)
    ws = await connect()

    snap = await sub(ws, f"match:{match.slug}")
    await goal(match, home, 23)
    delta = await frame(ws)

    assert snap["t"] == "snap" and snap["seq"] == 1
    assert snap["d"]["s"] == [0, 0] and snap["d"]["st"] == "first_half" and snap["d"]["w"] >= 1
    assert delta == {
        "ch": f"match:{match.slug}",
        "t": "goal",
        "seq": 2,
        "d": {"tm": "ARG", "m": 23, "s": [1, 0]},
    }
    await ws.disconnect()


async def test_goal_frames_stay_small_even_with_long_names(match, home):
    from tests.factories import make_player

    player = await sync_to_async(make_player)(home, "Maximiliano Sebastián Gonzalez-Rodríguez")
    await kick_off(match)
    ws = await connect()
    await sub(ws, f"match:{match.slug}")

    await sync_to_async(match_record_goal)(
        match=match, team=home, player=player, minute=45, stoppage=4
    )
    raw = await ws.receive_from(timeout=3)

    assert len(raw.encode()) <= 120 and json.loads(raw)["d"]["x"] == 4
    await ws.disconnect()


async def test_resume_with_since_replays_exactly_the_missed_frames(match, home, away):
    await kick_off(match)
    for minute in (5, 10, 15):
        await goal(match, home, minute)
    ws = await connect()

    first = await sub(ws, f"match:{match.slug}", since=2)
    second = await frame(ws)
    await goal(match, away, 20)
    live = await frame(ws)

    assert [first["seq"], second["seq"], live["seq"]] == [3, 4, 5]
    assert [first["t"], second["t"]] == ["goal", "goal"] and live["d"]["s"] == [3, 1]
    await ws.disconnect()


async def test_up_to_date_since_gets_ok(match):
    await kick_off(match)
    ws = await connect()

    reply = await sub(ws, f"match:{match.slug}", since=1)

    assert reply == {"ch": f"match:{match.slug}", "t": "ok", "seq": 1}
    await ws.disconnect()


async def test_too_old_since_gets_a_snapshot(match, home, monkeypatch):
    monkeypatch.setattr(publish, "TIMELINE_LENGTH", 2)
    await kick_off(match)
    for minute in (5, 10, 15):
        await goal(match, home, minute)
    ws = await connect()

    reply = await sub(ws, f"match:{match.slug}", since=1)

    assert reply["t"] == "snap" and reply["seq"] == 4 and reply["d"]["s"] == [3, 0]
    await ws.disconnect()


async def test_snapshot_is_rebuilt_from_the_database_when_redis_lost_it(match, home):
    await kick_off(match)
    await goal(match, home, 5)
    redis_client().flushdb()
    ws = await connect()

    snap = await sub(ws, f"match:{match.slug}")

    assert snap["seq"] == 2 and snap["d"]["s"] == [1, 0]
    kicked_off, scored = snap["d"]["ev"]
    assert (kicked_off["t"], kicked_off["st"], kicked_off["pm"]) == ("status", "first_half", 0)
    assert scored == {"t": "goal", "seq": 2, "tm": "ARG", "m": 5, "s": [1, 0]}
    await ws.disconnect()


@pytest.mark.parametrize(
    "payload, code",
    [
        ("{nope", protocol.ERR_BAD_JSON),
        ("[1, 2]", protocol.ERR_BAD_FRAME),
        ('{"op": "dance"}', protocol.ERR_UNKNOWN_OP),
        ('{"op": "sub", "ch": "weather:paris"}', protocol.ERR_BAD_CHANNEL),
        ('{"op": "sub", "ch": "match:nope-vs-nope-2020-01-01"}', protocol.ERR_UNKNOWN_CHANNEL),
        ('{"op": "sub", "ch": "user:1"}', protocol.ERR_FORBIDDEN),
        ('{"op": "sub", "ch": "match:arg-vs-fra-2026-12-18", "since": -3}', protocol.ERR_BAD_FRAME),
        ('{"op": "lat", "ch": "match:a-vs-b-2026-12-18", "d": [[2, -5]], "rtt": 9}', "bad_frame"),
        ('{"op": "lat", "ch": "match:a-vs-b-2026-12-18", "d": [[2, true]], "rtt": 9}', "bad_frame"),
        ('{"op": "lat", "ch": "match:a-vs-b-2026-12-18", "d": [], "rtt": 9}', "bad_frame"),
        ('{"op": "lat", "ch": "match:a-vs-b-2026-12-18", "d": [[2, 5]]}', "bad_frame"),
        ('{"op": "lat", "ch": "chat:room:1", "d": [[2, 5]], "rtt": 9}', "bad_channel"),
    ],
)
async def test_bad_frames_get_error_frames_and_the_socket_stays_open(match, payload, code):
    ws = await connect()

    await ws.send_to(text_data=payload)
    error = await frame(ws)
    await ws.send_json_to({"op": "ping"})

    assert error["t"] == "err" and error["code"] == code and error["msg"]
    assert is_pong(await frame(ws))
    await ws.disconnect()


async def test_oversized_frame_closes_only_that_socket(match):
    bad, good = await connect(), await connect()

    await bad.send_to(text_data="x" * (protocol.MAX_FRAME_BYTES + 1))
    await good.send_json_to({"op": "ping"})

    assert await closed_with(bad) == protocol.CLOSE_TOO_BIG
    assert is_pong(await frame(good))
    await good.disconnect()


async def test_too_many_subscriptions(match, monkeypatch):
    monkeypatch.setattr(protocol, "MAX_SUBSCRIPTIONS", 2)
    ws = await connect()
    await sub(ws, "leaderboard:global")
    await sub(ws, "prediction:global")

    error = await sub(ws, f"match:{match.slug}")

    assert error["code"] == protocol.ERR_TOO_MANY_SUBS
    await ws.disconnect()


async def test_rate_limit_sends_error_frames(match):
    ws = await connect()

    for _ in range(protocol.RATE_BURST + 1):
        await ws.send_json_to({"op": "ping"})
    replies = [await frame(ws) for _ in range(protocol.RATE_BURST + 1)]

    assert replies[-1]["code"] == protocol.ERR_RATE_LIMITED
    await ws.disconnect()


async def test_foreign_origin_is_refused_at_the_handshake():
    ws = WebsocketCommunicator(application, "/ws/", headers=[(b"origin", b"https://evil.example")])

    connected, code = await ws.connect()

    assert not connected and code == protocol.CLOSE_ORIGIN


@pytest.fixture
def fan_token(fan) -> str:
    return Token.objects.create(user=fan).key


async def test_native_client_without_origin_must_authenticate(fan, fan_token):
    anonymous = await connect(headers=[])
    await anonymous.send_json_to({"op": "sub", "ch": "prediction:global"})
    assert (await frame(anonymous))["code"] == protocol.ERR_FORBIDDEN

    await anonymous.send_json_to({"op": "auth", "token": fan_token})
    assert (await frame(anonymous)) == {"t": "auth", "uid": fan.pk}
    assert (await sub(anonymous, f"user:{fan.pk}")) == {"ch": f"user:{fan.pk}", "t": "ok"}
    await anonymous.disconnect()


async def test_bad_token_closes_with_unauthorized():
    ws = await connect(path="/ws/?token=not-a-token", headers=[])

    assert (await frame(ws))["code"] == protocol.ERR_BAD_TOKEN
    assert await closed_with(ws) == protocol.CLOSE_UNAUTHORIZED


async def test_private_channel_only_for_its_owner(fan, fan_token):
    ws = await connect(path=f"/ws/?token={fan_token}", headers=[])
    await frame(ws)  # auth

    own = await sub(ws, f"user:{fan.pk}")
    other = await sub(ws, f"user:{fan.pk + 1}")

    assert own["t"] == "ok" and other["code"] == protocol.ERR_FORBIDDEN
    await ws.disconnect()


async def test_second_socket_for_same_user_and_device_evicts_the_first(fan, fan_token):
    first = await connect(path=f"/ws/?token={fan_token}&device=phone", headers=[])
    await frame(first)
    other_device = await connect(path=f"/ws/?token={fan_token}&device=tablet", headers=[])
    await frame(other_device)

    second = await connect(path=f"/ws/?token={fan_token}&device=phone", headers=[])
    await frame(second)

    assert await closed_with(first) == protocol.CLOSE_EVICTED
    await other_device.send_json_to({"op": "ping"})
    assert is_pong(await frame(other_device))
    await second.disconnect()
    await other_device.disconnect()


async def test_silent_sockets_are_closed_by_the_heartbeat_sweep(monkeypatch):
    ws, chatty = await connect(), await connect()
    monkeypatch.setattr(limits, "IDLE_TIMEOUT_SECONDS", 0.2)
    await asyncio.sleep(0.3)
    await chatty.send_json_to({"op": "ping"})
    await frame(chatty)

    (await get_hub()).sweep()

    assert await closed_with(ws) == protocol.CLOSE_IDLE
    await chatty.send_json_to({"op": "ping"})
    assert is_pong(await frame(chatty))
    await chatty.disconnect()


async def test_a_slow_socket_is_closed_and_does_not_hold_up_others():
    stuck = asyncio.get_running_loop().create_future()
    sent: list[str] = []
    closes: list[int] = []

    async def never_drains(message):
        await stuck

    async def fast(message):
        sent.append(message["text"])

    async def record_close(code):
        closes.append(code)

    slow = hub_module.Connection(never_drains, record_close, None)
    quick = hub_module.Connection(fast, record_close, None)
    for n in range(limits.SEND_QUEUE_LIMIT + 2):
        slow.push(f"frame {n}")
        quick.push(f"frame {n}")
    await asyncio.sleep(0)

    assert len(sent) == limits.SEND_QUEUE_LIMIT + 2
    assert slow.closed and closes == [protocol.CLOSE_SLOW]
    stuck.cancel()


async def test_possession_is_a_stat_frame_and_in_the_snapshot(match):
    from matches.services import match_set_possession

    await kick_off(match)
    ws = await connect()
    await sub(ws, f"match:{match.slug}")

    await sync_to_async(match_set_possession)(match=match, home_possession=57)
    stat = await frame(ws)
    again = await connect()
    snap = await sub(again, f"match:{match.slug}")

    assert stat == {"ch": f"match:{match.slug}", "t": "stat", "seq": 2, "d": {"pos": 57}}
    assert snap["d"]["pos"] == 57 and all(e["t"] != "stat" for e in snap["d"].get("ev", []))
    await ws.disconnect()
    await again.disconnect()


def _latency() -> tuple[float, float, float]:
    """(goal latencies recorded, their sum, reports not recorded) in this process."""
    goal = metrics.CLIENT_LATENCY.labels("goal")
    reports = metrics.CLIENT_REPORTS
    refused = reports.labels("unknown")._value.get() + reports.labels("implausible")._value.get()
    return sum(b.get() for b in goal._buckets), goal._sum.get(), refused


async def test_a_client_latency_report_is_recorded_once(match, home):
    await kick_off(match)
    ws = await connect()
    await sub(ws, f"match:{match.slug}")
    await goal(match, home, 23)
    assert (await frame(ws))["seq"] == 2
    count, total, refused = _latency()

    # received 40 ms ago; the report takes half of a 20 ms round trip to get here
    report = {"op": "lat", "ch": f"match:{match.slug}", "d": [[2, 40]], "rtt": 20}
    await ws.send_json_to(report)
    await ws.send_json_to(report)  # the same frame again: not counted twice
    await ws.send_json_to({**report, "d": [[99, 0]]})  # a frame never written: not counted
    await ws.send_json_to({"op": "ping"})
    assert is_pong(await frame(ws))  # no answer to `lat`; the ops were handled

    now_count, now_total, now_refused = _latency()
    assert now_count == count + 1 and now_refused == refused + 2
    assert 0 <= now_total - total < 5  # seconds since the hub wrote the frame, at most
    await ws.disconnect()


async def test_a_spoiler_delay_shifts_the_snapshot_and_every_frame_for_that_socket(match, home):
    await kick_off(match)
    prompt, delayed = await connect(), await connect()
    await sub(prompt, f"match:{match.slug}")
    started = time.monotonic()
    await delayed.send_json_to({"op": "sub", "ch": f"match:{match.slug}", "delay": 1})
    assert await delayed.receive_nothing(timeout=0.6)  # nothing yet: not even the snapshot
    snap = await frame(delayed)
    assert snap["t"] == "snap" and snap["d"]["s"] == [0, 0]
    assert time.monotonic() - started >= 1

    await goal(match, home, 12)
    at_once = await frame(prompt)
    goal_at = time.monotonic()
    assert await delayed.receive_nothing(timeout=0.6)
    later = await frame(delayed)
    assert later == at_once and time.monotonic() - goal_at >= 0.9
    await prompt.disconnect()
    await delayed.disconnect()


@pytest.mark.parametrize("delay", [-1, 121, 1.5, True, "5"])
async def test_a_bad_spoiler_delay_is_refused(match, delay):
    ws = await connect()

    await ws.send_json_to({"op": "sub", "ch": f"match:{match.slug}", "delay": delay})
    error = await frame(ws)

    assert error["t"] == "err" and error["code"] == "bad_frame" and "delay" in error["msg"]
    await ws.disconnect()


# ---- liveness, the clock and the schedule (docs/protocol.md) ----------------------------------


async def test_a_quiet_socket_gets_heartbeats_and_a_busy_one_none_that_tick(match):
    quiet, busy = await connect(), await connect()
    await sub(busy, f"match:{match.slug}")  # written a snapshot since the last tick
    hub = await get_hub()

    hub.heartbeat()
    beat = await frame(quiet)
    assert await busy.receive_nothing(timeout=0.3)
    hub.heartbeat()  # nothing but heartbeats since: both get one

    assert beat["t"] == "hb" and abs(beat["ts"] / 1000 - time.time()) < 5
    assert (await frame(quiet))["t"] == "hb" and (await frame(busy))["t"] == "hb"
    await quiet.disconnect()
    await busy.disconnect()


async def test_the_snapshot_and_the_kick_off_carry_the_running_clock(match):
    ws = await connect()
    await sub(ws, f"match:{match.slug}")
    before = int(time.time())

    await kick_off(match)
    started = await frame(ws)
    late = await connect()
    snap = await sub(late, f"match:{match.slug}")

    assert started["t"] == "status" and started["d"]["st"] == "first_half"
    assert started["d"]["pm"] == 0 and before - 1 <= started["d"]["pa"] <= time.time() + 1
    assert (snap["d"]["pa"], snap["d"]["pm"]) == (started["d"]["pa"], 0)
    # A late joiner's events include the kick-off, as a live watcher's do.
    assert [e["t"] for e in snap["d"]["ev"]] == ["status"]
    await ws.disconnect()
    await late.disconnect()


async def test_the_schedule_channel_announces_status_changes_of_every_match(match, home):
    ws = await connect()
    assert (await sub(ws, "schedule"))["t"] == "ok"

    await kick_off(match)
    await goal(match, home, 10)  # not a status change: not on the schedule
    await sync_to_async(match_change_status)(match=match, status=MatchStatus.HALF_TIME)
    first, second = await frame(ws), await frame(ws)

    assert first["ch"] == "schedule" and first["d"]["m"] == match.slug
    assert (first["d"]["st"], first["d"]["s"]) == ("first_half", [0, 0])
    assert (second["d"]["st"], second["d"]["s"]) == ("half_time", [1, 0])
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()


async def test_a_frame_ahead_of_a_gap_waits_for_the_late_one_and_both_arrive_in_order(match):
    from realtime.channels import match_channel, pubsub_name
    from realtime.frames import Frame

    ws = await connect()
    await sub(ws, f"match:{match.slug}")
    await kick_off(match)  # seq 1 delivered: the hub's last seq is 1
    assert (await frame(ws))["seq"] == 1
    channel = match_channel(match.slug)
    early = Frame(channel, "card", {"tm": "ARG", "m": 9, "c": "y"}, seq=3)
    late = Frame(channel, "card", {"tm": "FRA", "m": 8, "c": "y"}, seq=2)
    publisher = redis_client()

    # Two workers: seq 3 is published (and stored) before seq 2 is stored or published.
    publisher.publish(pubsub_name(channel), sealed(early))
    await asyncio.sleep(0.05)
    publisher.publish(pubsub_name(channel), sealed(late))
    got = [await frame(ws), await frame(ws)]

    assert [f["seq"] for f in got] == [2, 3]
    await ws.disconnect()


async def test_a_frame_ahead_of_a_gap_that_never_fills_goes_out_after_the_hold(match):
    from realtime.channels import match_channel, pubsub_name
    from realtime.frames import Frame

    ws = await connect()
    await sub(ws, f"match:{match.slug}")
    await kick_off(match)
    assert (await frame(ws))["seq"] == 1
    channel = match_channel(match.slug)
    started = time.monotonic()

    redis_client().publish(pubsub_name(channel), sealed(Frame(channel, "card", {"c": "y"}, seq=3)))
    got = await frame(ws)

    assert got["seq"] == 3 and time.monotonic() - started >= limits.HOLD_SECONDS
    await ws.disconnect()
