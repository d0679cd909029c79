"""Reactions on the socket (`react`, answered like `say`), in-process against real Redis and
PostgreSQL (the hub subscribes for real), and their `rx` frames: published at most once a
second per moment, best effort, newest wins, never ahead of a score."""

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from chat import persistence
from chat.models import Sanction
from chat.services import room_for_match
from core.redis import client as redis_client
from gateway import hub as hub_module
from gateway.connection import Connection, moment_front
from matches.services import match_change_status, match_record_goal
from realtime.frames import reactions_frame
from realtime.publish import publish_now
from social import reactions
from tests.chat.test_socket import connect
from tests.factories import make_fan
from tests.gateway.test_protections import SlowSocket, frame, settle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
async def clean():
    redis_client().flushdb()
    yield
    await hub_module.release_hub()


@pytest.fixture
async def goal(match, home):
    def record():
        match_change_status(match=match, status="first_half")
        return match_record_goal(match=match, team=home, minute=23).event

    return await sync_to_async(record)()


async def receive(ws, timeout: float = 3) -> dict:
    return json.loads(await ws.receive_from(timeout=timeout))


async def react(ws, match, seq, kind="fire", cid="r1") -> dict:
    await ws.send_json_to(
        {"op": "react", "ch": f"match:{match.slug}", "seq": seq, "kind": kind, "cid": cid}
    )
    return await receive(ws)


async def test_react_is_acked_once_per_fan_and_moment_changed_and_taken_back(match, goal):
    ana, ben = await sync_to_async(lambda: [make_fan("ana"), make_fan("ben")])()
    a, b = await connect(ana), await connect(ben)
    ch = f"match:{match.slug}"

    assert await react(a, match, goal.seq, cid="a1") == {
        "ch": ch, "t": "ack", "d": {"cid": "a1", "m": goal.seq, "c": {"fire": 1}, "mine": "fire"},
    }  # fmt: skip
    assert (await react(a, match, goal.seq, cid="a2"))["d"]["c"] == {"fire": 1}  # once
    assert (await react(b, match, goal.seq, "heart"))["d"]["c"] == {"fire": 1, "heart": 1}
    assert (await react(a, match, goal.seq, "clap"))["d"]["c"] == {"clap": 1, "heart": 1}
    taken_back = await react(a, match, goal.seq, None, cid="a4")
    assert taken_back["d"] == {"cid": "a4", "m": goal.seq, "c": {"heart": 1}}  # no "mine"

    # The same counts over REST, and in PostgreSQL after the flush.
    moments = await sync_to_async(reactions.moments)(match, ben.pk)
    assert [(m.seq, m.counts, m.mine) for m in moments] == [(goal.seq, {"heart": 1}, "heart")]
    await sync_to_async(reactions.reactions_flush)()
    rows = await sync_to_async(
        lambda: sorted(goal.reactions.values_list("user__username", "kind"))
    )()
    assert rows == [("ben", "heart")]
    for ws in (a, b):
        await ws.disconnect()


async def test_refused_reactions_name_their_cid_and_change_nothing(match, goal):
    fan, banned = await sync_to_async(lambda: [make_fan("fan"), make_fan("banned")])()
    anonymous, ws, shut_out = await connect(), await connect(fan), await connect(banned)
    room = await sync_to_async(room_for_match)(match.pk)
    await sync_to_async(Sanction.objects.create)(user=banned, room=room, kind="ban", reason="x")
    await sync_to_async(persistence.hot_state_rebuild)()

    async def refusal(socket, **frame_) -> tuple[str, str | None]:
        await socket.send_json_to({"op": "react", "ch": f"match:{match.slug}", "seq": goal.seq,
                                   "kind": "fire", "cid": "c9", **frame_})  # fmt: skip
        got = await receive(socket)
        assert got["t"] == "err" and got["cid"] == "c9", got
        return got["code"], got.get("ch")

    ch = f"match:{match.slug}"
    assert await refusal(anonymous) == ("forbidden", ch)
    assert await refusal(ws, ch="leaderboard:global") == ("bad_channel", "leaderboard:global")
    assert await refusal(ws, kind="rofl") == ("bad_frame", ch)
    assert await refusal(ws, seq="2") == ("bad_frame", ch)
    assert await refusal(ws, seq=99) == ("no_moment", ch)
    assert await refusal(ws, seq=1) == ("bad_frame", ch)  # kick-off: not a moment
    assert await refusal(ws, ch="match:no-such-match") == ("no_moment", "match:no-such-match")
    assert await refusal(shut_out) == ("banned", ch)
    counts = await sync_to_async(reactions.moments)(match)
    assert [m.counts for m in counts] == [{}]
    for socket in (anonymous, ws, shut_out):
        await socket.disconnect()


async def test_socket_and_rest_share_one_rate_limit_per_fan(match, goal, settings):
    fan = await sync_to_async(make_fan)("quick")
    ws = await connect(fan)
    answers = []
    for n in range(31):
        answers.append(await react(ws, match, goal.seq, "fire" if n % 2 else "clap", f"q{n}"))
        await asyncio.sleep(0.1)  # under the socket's own frame rate (docs/protocol.md)
    assert [a["t"] for a in answers[:30]] == ["ack"] * 30
    assert answers[30]["code"] == "rate_limited" and 0 < answers[30]["wait"] <= 60
    # REST is refused too: the same budget.
    refused = await sync_to_async(_rest_react)(fan, match, goal.seq)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    await ws.disconnect()


def _rest_react(user, match, seq):
    client = APIClient()
    client.force_authenticate(user)
    return client.put(
        f"/api/v1/matches/{match.slug}/moments/{seq}/reaction/", {"kind": "fire"}, format="json"
    )


async def test_counts_go_out_as_rx_frames_at_most_once_a_second_per_moment(match, goal):
    fans = await sync_to_async(lambda: [make_fan(f"f{n}") for n in range(3)])()
    watcher = await connect()
    await watcher.send_json_to({"op": "sub", "ch": f"match:{match.slug}"})
    assert (await receive(watcher))["t"] == "snap"
    for user in fans:
        await sync_to_async(reactions.reaction_set)(
            user_id=user.pk, match=match, seq=goal.seq, kind="fire"
        )

    assert await sync_to_async(reactions.reactions_publish)() == 1  # one frame per moment
    got = await receive(watcher)
    assert got == {"ch": f"match:{match.slug}", "t": "rx", "d": {"m": goal.seq, "c": {"fire": 3}}}

    # Another change within the interval waits for the next run, then goes out whole.
    await sync_to_async(reactions.reaction_set)(
        user_id=fans[0].pk, match=match, seq=goal.seq, kind="wow"
    )
    assert await sync_to_async(reactions.reactions_publish)() == 0
    await asyncio.sleep(reactions.FRAME_INTERVAL_MS / 1000)
    assert await sync_to_async(reactions.reactions_publish)() == 1
    assert (await receive(watcher))["d"] == {"m": goal.seq, "c": {"fire": 2, "wow": 1}}
    assert await sync_to_async(reactions.reactions_publish)() == 0  # nothing changed
    await watcher.disconnect()


async def test_a_reaction_flood_never_goes_ahead_of_a_goal_on_the_same_channel(match, goal):
    watcher = await connect()
    ch = f"match:{match.slug}"
    await watcher.send_json_to({"op": "sub", "ch": ch})
    assert (await receive(watcher))["t"] == "snap"

    def flood_then_goal_then_flood() -> None:
        publish_now(*[reactions_frame(match.slug, goal.seq, {"fire": n}) for n in range(50)])
        match_record_goal(match=match, team=goal.team, minute=30)
        publish_now(*[reactions_frame(match.slug, goal.seq, {"fire": 50 + n}) for n in range(50)])

    started = time.monotonic()
    await sync_to_async(flood_then_goal_then_flood)()
    seen = []
    while not seen or seen[-1] != {"m": goal.seq, "c": {"fire": 99}}:
        got = await receive(watcher)
        seen.append("goal" if got["t"] == "goal" else got["d"])
    goal_at = seen.index("goal")
    after = [d["c"]["fire"] for d in seen[goal_at + 1 :]]
    assert all(n >= 50 for n in after)  # nothing published after the goal went ahead of it
    assert all(d["c"]["fire"] < 50 for d in seen[:goal_at])
    assert time.monotonic() - started < 3
    await watcher.disconnect()


async def test_a_moments_newest_counts_replace_older_ones_waiting_behind_the_score():
    socket = SlowSocket()
    conn = Connection(socket.send, socket.close, None)

    def rx(seq: int, n: int) -> str:
        return reactions_frame("a", seq, {"fire": n}).text

    conn.push(frame("match:a", "goal", 1))  # the socket falls behind on this one
    for n in range(1, 6):
        conn.push_low(rx(2, n), latest=moment_front(rx(2, n)))
    conn.push_low(rx(3, 1), latest=moment_front(rx(3, 1)))
    conn.push(frame("match:a", "goal", 2))
    socket.gate.set()
    await settle()

    assert socket.written == [
        frame("match:a", "goal", 1),
        frame("match:a", "goal", 2),  # the score first, whatever waited before it
        "\n".join([rx(2, 5), rx(3, 1)]),  # one frame per moment: its newest
    ]
