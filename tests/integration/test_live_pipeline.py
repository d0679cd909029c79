"""Feed -> Celery worker -> PostgreSQL -> Redis -> gateway -> fans, across real processes."""

import asyncio

import pytest

from matches import simulator
from matches.models import Match
from matches.worldcup import worldcup_load
from realtime import protocol
from tests.feedclient import feed_event
from tests.integration.wsclient import Fan

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def post_events(server, *events: dict) -> int:
    return simulator.post_events(base_url=server.url, provider="demo", events=list(events))


def is_seq(n):
    return lambda frame: frame.get("seq") == n


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
def test_a_goal_posted_to_the_feed_reaches_a_subscribed_fan(servers, match, kind):
    server = servers[kind]
    channel = f"match:{match.slug}"

    async def scenario():
        fan = await Fan.connect(server.ws_url)
        await fan.send({"op": "sub", "ch": channel})
        snap = await fan.recv()
        assert post_events(server, feed_event(match, 1, "status", status="first_half")) == 202
        assert post_events(server, feed_event(match, 2, "goal", team="ARG", minute=23)) == 202
        frames = await fan.recv_until(is_seq(2))
        await fan.close()
        return snap, frames

    snap, frames = asyncio.run(scenario())

    assert snap["t"] == "snap" and snap["seq"] == 0
    assert [f["seq"] for f in frames] == [1, 2]
    assert frames[-1] == {
        "ch": channel,
        "t": "goal",
        "seq": 2,
        "d": {"tm": "ARG", "m": 23, "s": [1, 0]},
    }


def test_resume_with_since_gets_exactly_the_missed_frames(server, match):
    channel = f"match:{match.slug}"

    async def scenario():
        fan = await Fan.connect(server.ws_url)
        await fan.send({"op": "sub", "ch": channel})
        await fan.recv()
        post_events(server, feed_event(match, 1, "status", status="first_half"))
        await fan.recv_until(is_seq(1))
        await fan.close()
        post_events(
            server,
            feed_event(match, 2, "goal", team="ARG", minute=10),
            feed_event(match, 3, "yellow", team="FRA", minute=12),
            feed_event(match, 4, "goal", team="FRA", minute=30),
        )
        watcher = await Fan.connect(server.ws_url)  # waits for the worker to finish
        await watcher.send({"op": "sub", "ch": channel})
        if (await watcher.recv())["seq"] < 4:  # wait until the worker applied all three
            await watcher.recv_until(lambda f: f.get("seq", 0) >= 4)
        back = await Fan.connect(server.ws_url)
        await back.send({"op": "sub", "ch": channel, "since": 1})
        missed = [await back.recv() for _ in range(3)]
        quiet = await back.quiet(0.7)
        for client in (watcher, back):
            await client.close()
        return missed, quiet

    missed, quiet = asyncio.run(scenario())

    assert [f["seq"] for f in missed] == [2, 3, 4]
    assert [f["t"] for f in missed] == ["goal", "card", "goal"]
    assert missed[-1]["d"]["s"] == [1, 1] and quiet


def test_duplicate_and_out_of_order_feed_events_never_show_a_wrong_score(server, match):
    channel = f"match:{match.slug}"
    events = {
        n: feed_event(match, n, kind, **fields)
        for n, kind, fields in [
            (1, "status", {"status": "first_half"}),
            (2, "goal", {"team": "ARG", "minute": 10}),
            (3, "goal", {"team": "FRA", "minute": 20}),
            (4, "goal", {"team": "FRA", "minute": 30}),
            (5, "goal_disallowed", {"target": f"{match.slug}-4", "detail": "VAR"}),
            (6, "status", {"status": "half_time", "minute": 45}),
        ]
    }

    async def scenario():
        fans = [await Fan.connect(server.ws_url) for _ in range(3)]
        for fan in fans:
            await fan.send({"op": "sub", "ch": channel})
            await fan.recv()
        for order in ([1, 3], [2, 2, 5], [4, 3, 6, 6]):
            post_events(server, *(events[n] for n in order))
        seen = [await fan.recv_until(is_seq(6)) for fan in fans]
        for fan in fans:
            await fan.close()
        return seen

    for frames in asyncio.run(scenario()):
        assert [f["seq"] for f in frames] == [1, 2, 3, 4, 5, 6]
        scores = [f["d"]["s"] for f in frames]
        assert scores == [[0, 0], [1, 0], [1, 1], [1, 2], [1, 1], [1, 1]]
    rest = server.get_json(f"/api/v1/matches/{match.slug}/")
    assert (rest["home_score"], rest["away_score"], rest["seq"]) == (1, 1, 6)


def test_final_replay_with_chaos_ends_3_3_and_4_2_on_every_fan(server):
    worldcup_load(year=2022)
    source = Match.objects.select_related("home", "away").get(slug="arg-vs-fra-2022-12-18")
    replay = simulator.replay_create(source=source)
    plan = simulator.add_chaos(simulator.replay_plan(source=source, replay=replay), home_code="ARG")
    last_seq = max(p.event["seq"] for p in plan)
    channel = f"match:{replay.slug}"

    async def scenario():
        fans = [await Fan.connect(server.ws_url) for _ in range(3)]
        for fan in fans:
            await fan.send({"op": "sub", "ch": channel})
            await fan.recv()
        send = lambda event: simulator.post_event(  # noqa: E731
            base_url=server.url, provider="demo", event=event
        )
        statuses = await asyncio.to_thread(
            lambda: [status for _, status in simulator.run(plan, speed=1e6, send=send)]
        )
        seen = [await fan.recv_until(is_seq(last_seq), timeout=60) for fan in fans]
        for fan in fans:
            await fan.close()
        return statuses, seen

    statuses, seen = asyncio.run(scenario())

    assert set(statuses) == {202}
    for frames in seen:
        assert [f["seq"] for f in frames] == list(range(1, last_seq + 1))
        final = frames[-1]
        assert final["t"] == "status" and final["d"]["st"] == "finished"
        assert final["d"]["s"] == [3, 3]
        kicks = [f for f in frames if f["t"] == "pen"]
        assert kicks[-1]["d"]["ps"] == [4, 2]
        assert any(f["t"] == "disallow" for f in frames)
    replay.refresh_from_db()
    assert (replay.home_score, replay.away_score, replay.home_pens, replay.away_pens) == (
        3,
        3,
        4,
        2,
    )


def test_misbehaving_and_silent_sockets_do_not_affect_others(server, match):
    channel = f"match:{match.slug}"

    async def scenario():
        good = await Fan.connect(server.ws_url)
        big = await Fan.connect(server.ws_url)
        silent = await Fan.connect(server.ws_url)
        await good.send({"op": "sub", "ch": channel})
        await good.recv()
        await big.ws.send("x" * (protocol.MAX_FRAME_BYTES + 1))
        big_code = await big.close_code()
        post_events(server, feed_event(match, 1, "status", status="first_half"))
        kickoff = await good.recv_until(is_seq(1))
        for _ in range(4):  # keep the good socket alive past the idle timeout
            await asyncio.sleep(2.5)
            await good.send({"op": "ping"})
            await good.recv()
        silent_code = await silent.close_code(timeout=15)
        await good.send({"op": "ping"})
        pong = await good.recv()
        await good.close()
        return big_code, kickoff, silent_code, pong

    big_code, kickoff, silent_code, pong = asyncio.run(scenario())

    assert big_code == protocol.CLOSE_TOO_BIG
    assert kickoff[-1]["d"]["st"] == "first_half"
    assert silent_code == protocol.CLOSE_IDLE
    assert pong["t"] == "pong" and isinstance(pong["ts"], int)
