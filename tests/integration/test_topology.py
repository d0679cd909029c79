"""The multi-node topology (bench/topology.py): HAProxy, 4 gateways, Redis split by role with
the live state over 3 shards, a Celery worker per queue, PgBouncer in transaction mode. A
replayed final loses a gateway and then its own live-state shard mid-match; every fan,
connected through the load balancer, must converge on the REST snapshot, and the settlement
must be complete and counted once."""

import asyncio
import json
import random
import tempfile
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bench.topology import Topology
from core.redis import live_shard
from matches import simulator
from matches.models import FeedEvent, Match
from matches.worldcup import worldcup_load
from predictions import leaderboard
from predictions.models import Kind, Prediction, SettlementRun, UserScore
from tests.integration.conftest import wait_until
from tests.predictions.helpers import predict

pytestmark = [
    pytest.mark.integration,
    pytest.mark.faults,
    pytest.mark.topology,
    pytest.mark.django_db(transaction=True),
]
FANS = 24


@pytest.fixture
def topology(stack_env, settings):
    workdir = Path(tempfile.mkdtemp(prefix="livescore-topology-"))
    env = {**stack_env, "WS_IDLE_TIMEOUT": "120"}  # these fans only listen
    nodes = Topology(stack_env["DATABASE_URL"], workdir, env=env)
    try:
        nodes.up()
        # This process reads the topology's own servers (boards, live state) to check them.
        settings.REDIS_URL = nodes.redis["general"]
        settings.REDIS_LEADERBOARD_URL = nodes.redis["boards"]
        settings.REDIS_LIVE_URLS = [nodes.redis[f"live{n}"] for n in range(3)]
        yield nodes
    finally:
        nodes.down()


class ResilientFan:
    """A fan's app as docs/protocol.md describes it: on a lost socket, a refused handshake
    or a gap in `seq`, reconnect (through the load balancer) and resume with `since`."""

    def __init__(self, url: str, channel: str) -> None:
        self.url, self.channel = url, channel
        self.seq: int | None = None
        self.score: list[int] | None = None
        self.connections = 0
        self.errors: list[str] = []  # why sockets ended (shown when the test fails)
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set():
            try:
                await self._session()
            except (OSError, ConnectionClosed, InvalidStatus, TimeoutError) as error:
                self.errors.append(repr(error)[:200])
            await asyncio.sleep(random.uniform(0.2, 0.6))  # back off, spread the herd

    async def _session(self) -> None:
        async with connect(self.url, origin=settings.WS_ALLOWED_ORIGINS[0], open_timeout=10) as ws:
            self.connections += 1
            sub = {"op": "sub", "ch": self.channel}
            if self.seq is not None:
                sub["since"] = self.seq
            await ws.send(json.dumps(sub))
            while not self.stop.is_set():
                try:
                    message = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                for line in filter(None, message.split("\n")):
                    if not self._apply(json.loads(line)):
                        return  # a gap or an error: resync on a new socket

    def _apply(self, frame: dict) -> bool:
        if frame.get("t") == "error":
            return False
        if frame.get("ch") != self.channel or "seq" not in frame:
            return True
        seq = frame["seq"]
        if frame["t"] != "snap" and self.seq is not None:
            if seq <= self.seq:
                return True
            if seq != self.seq + 1:
                return False
        self.seq = seq
        score = (frame.get("d") or {}).get("s")
        if score is not None:
            self.score = score
        return True


async def converge(fans: list[ResilientFan], done, timeout: float, want=None) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not all(done(fan) for fan in fans):
                await asyncio.sleep(0.1)
    except TimeoutError:
        behind = [(fan.seq, fan.connections, fan.errors[-3:]) for fan in fans if not done(fan)]
        raise AssertionError(f"fans not converged on {want}: {behind}") from None


def all_applied(match: Match) -> None:
    """The feed answers 202 once an event is stored; wait until the workers applied all."""
    pending = FeedEvent.objects.filter(match=match, state=FeedEvent.State.PENDING)
    try:
        wait_until(lambda: not pending.exists(), 60, "every accepted event to be applied")
    finally:
        connection.close()  # this thread's own connection: the test database is dropped later


def rest_snapshot(nodes: Topology, slug: str) -> dict:
    with urllib.request.urlopen(f"{nodes.url}/api/v1/matches/{slug}/live/", timeout=10) as r:
        return json.loads(r.read())


def test_fans_converge_and_settlement_counts_once_after_a_gateway_and_a_shard_die(topology):
    worldcup_load(year=2022)
    source = Match.objects.select_related("home", "away").get(slug="arg-vs-fra-2022-12-18")
    replay = simulator.replay_create(source=source)
    plan = simulator.add_chaos(simulator.replay_plan(source=source, replay=replay), home_code="ARG")
    rng = random.Random(7)
    for n in range(FANS * 4):
        fan = User.objects.create_user(f"topology-fan-{n}")
        predict(fan, replay, Kind.SCORE, home_goals=rng.randint(0, 3), away_goals=rng.randint(0, 3))
        predict(fan, replay, Kind.WINNER, outcome=rng.choice("HDA"))
    shard = f"live{live_shard(replay.slug)}"

    def send(event: dict) -> int:
        return simulator.post_event(base_url=topology.url, provider="demo", event=event)

    def play(part) -> set[int]:
        return {status for _, status in simulator.run(part, speed=1e6, send=send)}

    async def scenario() -> list[ResilientFan]:
        fans = [ResilientFan(topology.ws_url, f"match:{replay.slug}") for _ in range(FANS)]
        tasks = [asyncio.create_task(fan.run()) for fan in fans]
        await converge(fans, lambda fan: fan.seq is not None, 30)
        third = len(plan) // 3
        assert await asyncio.to_thread(play, plan[:third]) == {202}

        # A gateway lost with its sockets: HAProxy's checks take it out, its fans come back
        # through the balancer to the other three.
        topology.parts["gateway-2"].kill()
        await asyncio.sleep(1)
        assert await asyncio.to_thread(play, plan[third : 2 * third]) == {202}
        wait_until(lambda: "gateway-2" not in topology.gateways_up(), 20, "gateway-2 out")

        # The match's own live-state shard dies, empty on restart (no persistence): what was
        # published meanwhile is gone, and fans see it as a gap to resync from.
        topology.parts[f"redis-{shard}"].kill()
        assert await asyncio.to_thread(play, plan[2 * third : 2 * third + 3]) == {202}
        await asyncio.sleep(2)
        topology.start_redis(shard)
        assert await asyncio.to_thread(play, plan[2 * third + 3 :]) == {202}

        await asyncio.to_thread(all_applied, replay)
        final = await asyncio.to_thread(rest_snapshot, topology, replay.slug)
        await converge(fans, lambda fan: fan.seq == final["seq"], 60, final["seq"])
        for fan in fans:
            fan.stop.set()
        await asyncio.gather(*tasks)
        return fans

    fans = asyncio.run(scenario())

    replay.refresh_from_db()
    final = rest_snapshot(topology, replay.slug)
    assert final["seq"] == replay.seq and final["d"]["s"] == [3, 3]
    assert all(fan.score == [3, 3] for fan in fans)
    assert all(fan.seq == replay.seq for fan in fans)
    assert sum(fan.connections > 1 for fan in fans) >= 1  # the lost gateway's fans came back

    # Settled once, completely: every prediction scored at the final version, each fan's
    # total equals the sum of their predictions, and the boards equal a recomputation.
    wait_until(
        lambda: SettlementRun.objects.filter(match=replay, finished_at__isnull=False).exists(),
        120,
        "the settlement to finish",
    )
    assert SettlementRun.objects.filter(match=replay).count() == 1
    predictions = Prediction.objects.filter(match=replay)
    assert set(predictions.values_list("settled_version", flat=True)) == {replay.result_version}
    totals: dict[int, int] = {}
    for user_id, points in predictions.values_list("user_id", "points"):
        totals[user_id] = totals.get(user_id, 0) + points
    scores = dict(UserScore.objects.values_list("user_id", "points"))
    assert {user: scores.get(user, 0) for user in totals} == totals
    assert leaderboard.check_all() == []
