"""Chat on the socket, in-process against real Redis and PostgreSQL (the hub subscribes for
real): say and ack, history, shards, moderation frames, and chat never ahead of a score."""

import asyncio
import datetime as dt
import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from rest_framework.authtoken.models import Token

from chat import moderation, persistence, services
from chat.models import Message
from core.redis import client
from gateway import hub as hub_module
from gateway import limits
from gateway.connection import Connection
from gateway.hub import get_hub
from livescore.asgi import application
from matches.models import MatchStatus
from matches.services import match_change_status, match_record_goal
from predictions.services import league_create, league_invite, league_join, league_remove_member
from realtime import protocol
from tests.factories import make_fan

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
ORIGIN = [(b"origin", settings.WS_ALLOWED_ORIGINS[0].encode())]


@pytest.fixture(autouse=True)
async def release():
    yield
    await hub_module.release_hub()


async def connect(user=None) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(application, "/ws/", headers=ORIGIN)
    connected, _ = await ws.connect()
    assert connected
    if user is not None:
        token, _ = await sync_to_async(Token.objects.get_or_create)(user=user)
        await ws.send_json_to({"op": "auth", "token": token.key})
        assert (await frame(ws))["t"] == "auth"
    return ws


async def frame(ws, timeout: float = 3) -> dict:
    return json.loads(await ws.receive_from(timeout=timeout))


async def frames_until(ws, t: str, timeout: float = 3) -> list[dict]:
    seen = []
    while True:
        seen.append(await frame(ws, timeout))
        if seen[-1]["t"] == t:
            return seen


async def closed_with(ws) -> int:
    while True:
        message = await ws.receive_output(timeout=3)
        if message["type"] == "websocket.close":
            return message.get("code", 1000)


async def wait_for(check, timeout: float = 3) -> None:
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


async def join(ws, room) -> dict:
    await ws.send_json_to({"op": "sub", "ch": f"chat:room:{room.pk}"})
    return await frame(ws)


async def say(ws, room, text, cid) -> dict:
    await ws.send_json_to({"op": "say", "ch": f"chat:room:{room.pk}", "text": text, "cid": cid})
    return await frame(ws)


@pytest.fixture
async def people(db):
    return await sync_to_async(lambda: [make_fan(n) for n in ("ana", "ben", "cam")])()


async def test_say_acks_and_every_listener_gets_it_batched(room, people):
    ana, ben, _ = people
    author, listener, anonymous = await connect(ana), await connect(ben), await connect()
    for ws in (author, listener, anonymous):
        assert (await join(ws, room))["t"] == "hist"

    ack = await say(author, room, "Vamos\u202e <b>Messi</b>", "c1")
    got = await frame(listener)

    assert ack["t"] == "ack" and ack["ch"] == f"chat:room:{room.pk}"
    assert ack["d"]["cid"] == "c1" and ack["d"]["id"] > 0 and ack["d"]["ts"] > 0
    assert got == {
        "ch": f"chat:room:{room.pk}",
        "t": "msgs",
        "d": [
            {
                "id": ack["d"]["id"],
                "u": ana.pk,
                "n": "ana",
                "x": "Vamos <b>Messi</b>",
                "ts": ack["d"]["ts"],
            }
        ],
    }
    assert (await frame(anonymous))["d"] == got["d"]
    assert (await frame(author))["d"] == got["d"]  # the author's own stream has it too


async def test_a_repeated_cid_is_acknowledged_again_not_posted_twice(room, people):
    ana, ben, _ = people
    author, listener = await connect(ana), await connect(ben)
    await join(listener, room)

    first = await say(author, room, "one goal", "same")
    await author.disconnect()
    author = await connect(ana)  # a retry after a reconnect
    again = await say(author, room, "one goal", "same")
    got = await frame(listener)

    assert again["d"] == {**first["d"], "again": 1}
    assert len(got["d"]) == 1
    assert await listener.receive_nothing(timeout=0.5)


async def test_history_on_sub_has_the_last_50_oldest_first(room, people, settings):
    settings.CHAT_USER_BURST = 100
    ana, *_ = people
    post = sync_to_async(services.message_post)
    ids = [(await post(user=ana, room=room, text=f"msg {i}", cid=f"c{i}")).id for i in range(55)]

    hist = await join(await connect(), room)

    assert hist["t"] == "hist" and hist["d"]["slow"] == 0
    assert [m["id"] for m in hist["d"]["m"]] == ids[-50:]
    assert hist["d"]["m"][-1]["x"] == "msg 54"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"text": "hi"}, "bad_frame"),  # no cid
        ({"text": "hi", "cid": 5}, "bad_frame"),
        ({"text": 5, "cid": "c"}, "bad_frame"),
        ({"text": ["hi"], "cid": "c"}, "bad_frame"),
        ({"text": "", "cid": "c"}, "empty"),
        ({"text": "\u200b\u202e\u2066", "cid": "c"}, "empty"),
        ({"text": "x" * 281, "cid": "c"}, "too_long"),
        ({"text": "<img src=x onerror=alert(1)> at evil.xyz", "cid": "c"}, "link"),
    ],
)
async def test_hostile_or_broken_says_get_a_clear_error_and_store_nothing(
    room, people, fields, code
):
    ana, ben, _ = people
    author, listener = await connect(ana), await connect(ben)
    await join(listener, room)

    await author.send_json_to({"op": "say", "ch": f"chat:room:{room.pk}", **fields})
    reply = await frame(author)
    await sync_to_async(persistence.pending_flush)()

    assert reply["t"] == "err" and reply["code"] == code
    assert await listener.receive_nothing(timeout=0.4)
    assert not await sync_to_async(Message.objects.exists)()


async def test_a_10_kb_message_closes_only_that_socket(room, people):
    ana, ben, _ = people
    author, listener = await connect(ana), await connect(ben)
    await join(listener, room)

    await author.send_json_to(
        {"op": "say", "ch": f"chat:room:{room.pk}", "text": "x" * 10_000, "cid": "c"}
    )

    assert await closed_with(author) == protocol.CLOSE_TOO_BIG
    await say(listener, room, "still fine", "c1")
    assert (await frames_until(listener, "msgs"))[-1]["d"][0]["x"] == "still fine"


async def test_anonymous_and_wrong_channels_cannot_say(room, match):
    ws = await connect()
    assert (await say(ws, room, "hi", "c1"))["code"] == "forbidden"
    await ws.send_json_to({"op": "say", "ch": f"match:{match.slug}", "text": "hi", "cid": "c"})
    assert (await frame(ws))["code"] == "bad_channel"


async def test_unknown_room(people):
    ws = await connect(people[0])
    await ws.send_json_to({"op": "sub", "ch": "chat:room:999999"})
    assert (await frame(ws))["code"] == "unknown_channel"


async def test_shards_split_the_stream_but_deletes_reach_every_shard(room, people, settings):
    settings.CHAT_SHARD_SIZE = 1  # every socket its own shard
    ana, ben, cam = people
    a, b, c = await connect(ana), await connect(ben), await connect(cam)
    for ws in (a, b, c):
        await join(ws, room)

    said = await say(a, room, "only my shard", "c1")
    own = await frame(a)
    await sync_to_async(moderation.message_delete)(actor=ana, message_id=said["d"]["id"])

    assert own["d"][0]["x"] == "only my shard"
    for ws in (a, b, c):
        assert await frame(ws) == {
            "ch": f"chat:room:{room.pk}",
            "t": "del",
            "d": {"ids": [said["d"]["id"]]},
        }
    assert await sync_to_async(client().hlen)(f"chat:r:{room.pk}:shards") == 3


async def test_budget_keeps_the_newest_and_authors_still_see_their_own(room, people, settings):
    settings.CHAT_TICK_MAX, settings.CHAT_TICK_MS = 2, 3_600_000  # ticks by hand below
    ana, ben, cam = people
    a, b, listener = await connect(ana), await connect(ben), await connect(cam)
    for ws in (a, b, listener):
        await join(ws, room)

    for i in range(3):
        await say(a, room, f"ana {i}", f"a{i}")
    await say(b, room, "ben 0", "b0")
    hub = await get_hub()
    feed = hub.feeds[f"chat:room:{room.pk}:s0"]
    await wait_for(lambda: len(feed.pending) == 4)
    hub.chat.flush(feed)
    batch = await frame(listener)
    ana_frames = [await frame(a), await frame(a)]

    assert [m["x"] for m in batch["d"]] == ["ana 2", "ben 0"]  # the two newest
    assert await listener.receive_nothing(timeout=0.5)
    assert sorted(m["x"] for f in ana_frames for m in f["d"]) == [
        "ana 0",
        "ana 1",
        "ana 2",
        "ben 0",
    ]


async def test_slow_mode_is_announced_and_enforced(room, people, moderator):
    ana, *_ = people
    ws = await connect(ana)
    await join(ws, room)

    await sync_to_async(moderation.slow_mode_set)(actor=moderator, room=room, seconds=20)
    announced = await frame(ws)
    accepted = await say(ws, room, "first", "c0")
    await ws.send_json_to({"op": "say", "ch": f"chat:room:{room.pk}", "text": "next", "cid": "c1"})
    refused = (await frames_until(ws, "err"))[-1]

    assert announced == {"ch": f"chat:room:{room.pk}", "t": "room", "d": {"slow": 20}}
    assert accepted["t"] == "ack"
    assert refused["code"] == "slow_mode" and 19 < refused["wait"] <= 20 and refused["cid"] == "c1"
    assert (await join(await connect(), room))["d"]["slow"] == 20


async def test_automatic_slow_mode_is_announced(room, people, settings):
    settings.CHAT_AUTO_SLOW_RATE = 2
    listener = await connect()
    await join(listener, room)
    for i, fan in enumerate(people):
        await say(await connect(fan), room, f"flood {i}", "c")

    frames = await frames_until(listener, "room")
    await sync_to_async(client().delete)(f"chat:r:{room.pk}:auto")  # the flood calmed down
    await sync_to_async(persistence.rooms_calm)()
    off = (await frames_until(listener, "room"))[-1]

    assert frames[-1]["d"] == {"slow": settings.CHAT_AUTO_SLOW_SECONDS, "auto": 1}
    assert off["d"] == {"slow": 0}


async def test_ban_takes_the_fan_off_the_room(room, people, moderator):
    ana, ben, _ = people
    banned, other = await connect(ana), await connect(ben)
    await join(banned, room)
    await join(other, room)

    await sync_to_async(moderation.sanction_create)(
        actor=moderator, user_id=ana.pk, kind="ban", room=room, minutes=None, reason="abuse"
    )
    kicked = await frame(banned)
    refused = await join(banned, room)
    said = await say(banned, room, "let me back", "c1")

    assert kicked == {"ch": f"chat:room:{room.pk}", "t": "unsub", "d": {"r": "banned"}}
    assert refused["code"] == "banned" and refused["until"] == 0
    assert said["code"] == "banned"
    assert await other.receive_nothing(timeout=0.3)  # nothing for the others


async def test_shadow_mute_only_the_author_sees(room, people, moderator):
    ana, ben, _ = people
    shadowed, other = await connect(ana), await connect(ben)
    await join(shadowed, room)
    await join(other, room)
    await sync_to_async(moderation.sanction_create)(
        actor=moderator, user_id=ana.pk, kind="shadow", room=room, minutes=60, reason="troll"
    )

    ack = await say(shadowed, room, "am I heard?", "c1")

    assert ack["t"] == "ack"
    assert await other.receive_nothing(timeout=0.5)
    mine = await join(await connect(ana), room)
    theirs = await join(await connect(ben), room)
    assert [m["x"] for m in mine["d"]["m"]] == ["am I heard?"]
    assert theirs["d"]["m"] == []


async def test_clear_tells_clients_to_drop_the_authors_messages(room, people, moderator):
    ana, ben, _ = people
    spammer, other = await connect(ana), await connect(ben)
    await join(other, room)
    await say(spammer, room, "spam", "c1")
    await frame(other)

    await sync_to_async(moderation.messages_clear)(actor=moderator, room=room, user_id=ana.pk)

    assert await frame(other) == {"ch": f"chat:room:{room.pk}", "t": "del", "d": {"u": ana.pk}}
    assert (await join(await connect(), room))["d"]["m"] == []


async def test_league_room_refuses_outsiders_and_removal_kicks_at_once(people):
    owner, member, outsider = people
    league = await sync_to_async(league_create)(owner=owner, name="Office")
    invite = await sync_to_async(league_invite)(
        league=league, by=owner, expires_in=dt.timedelta(days=1), max_uses=5
    )
    await sync_to_async(league_join)(user=member, code=invite.code)
    room = await sync_to_async(services.room_for_league)(league.pk)
    member_ws, outsider_ws, anonymous = (
        await connect(member),
        await connect(outsider),
        await connect(),
    )

    assert (await join(member_ws, room))["t"] == "hist"
    assert (await join(outsider_ws, room))["code"] == "forbidden"
    assert (await join(anonymous, room))["code"] == "forbidden"
    assert (await say(outsider_ws, room, "hi", "c1"))["code"] == "not_member"

    await sync_to_async(league_remove_member)(league=league, by=owner, user_id=member.pk)

    assert await frame(member_ws) == {
        "ch": f"chat:room:{room.pk}",
        "t": "unsub",
        "d": {"r": "removed"},
    }
    assert (await say(member_ws, room, "still here?", "c2"))["code"] == "not_member"


async def test_repeated_refusals_close_the_socket(room, people, settings):
    settings.CHAT_USER_BURST, settings.CHAT_USER_PER_MINUTE = 1, 1
    ws = await connect(people[0])
    await say(ws, room, "ok", "c0")
    codes = []
    for i in range(protocol.CHAT_STRIKES_BEFORE_CLOSE - 1):
        codes.append((await say(ws, room, f"more {i}", f"c{i + 1}"))["code"])
    await ws.send_json_to({"op": "say", "ch": f"chat:room:{room.pk}", "text": "last", "cid": "z"})

    assert set(codes) == {"rate_limited"}
    assert (await frame(ws))["code"] == "rate_limited"
    assert await closed_with(ws) == protocol.CLOSE_RATE


async def test_under_a_chat_flood_every_goal_arrives_in_order(room, match, home, people, settings):
    settings.CHAT_USER_BURST, settings.CHAT_USER_PER_MINUTE = 1000, 60000
    settings.CHAT_AUTO_SLOW_RATE = settings.CHAT_ROOM_PER_SECOND = 100_000
    await sync_to_async(match_change_status)(match=match, status=MatchStatus.FIRST_HALF)
    fan = await connect(people[1])
    await fan.send_json_to({"op": "sub", "ch": f"match:{match.slug}"})
    assert (await frame(fan))["t"] == "snap"
    await join(fan, room)
    flooders = [await connect(p) for p in (people[0], people[2])]

    async def flood() -> None:
        for i in range(150):
            ws = flooders[i % 2]
            await ws.send_json_to(
                {"op": "say", "ch": f"chat:room:{room.pk}", "text": f"chant {i}", "cid": f"f{i}"}
            )
            await asyncio.sleep(0.005)

    async def goals() -> None:
        for minute in range(1, 6):
            await sync_to_async(match_record_goal)(match=match, team=home, minute=minute)
            await asyncio.sleep(0.05)

    await asyncio.gather(flood(), goals())
    seqs, chat_batches = [], 0
    while len(seqs) < 5 or not chat_batches:  # chat waits while goals go out, then flows
        got = await frame(fan)
        if got["t"] == "goal":
            seqs.append(got["seq"])
        else:
            assert got["t"] == "msgs"
            chat_batches += 1

    assert seqs == [2, 3, 4, 5, 6]
    assert chat_batches >= 1


async def test_queued_chat_never_delays_a_score_frame():
    """A socket that fell behind: the score frame goes out before every queued chat batch,
    and chat beyond the low queue's bound is dropped, never closing the socket."""
    sent: list[str] = []
    release = asyncio.Event()

    async def send(message):
        if not sent:
            sent.append(message["text"])
            await release.wait()  # the first write blocks: the socket is now behind
        else:
            sent.append(message["text"])

    async def close(code):
        raise AssertionError("must not close")

    async def run():
        conn = Connection(send, close, None)
        conn.push('{"t":"first"}')
        kept = [conn.push_low(f'{{"t":"chat{i}"}}') for i in range(limits.LOW_QUEUE_LIMIT + 2)]
        conn.push('{"t":"goal"}')
        release.set()
        await asyncio.sleep(0.05)
        return kept

    kept = await run()

    assert sent[:2] == ['{"t":"first"}', '{"t":"goal"}']
    # The chat kept goes out after the score, together in one message (one frame a line).
    kept_chat = [f'{{"t":"chat{i}"}}' for i in range(2, limits.LOW_QUEUE_LIMIT + 2)]
    assert sent[2:] == ["\n".join(kept_chat)]
    assert kept.count(False) == 2


async def test_posts_survive_a_redis_restart_that_lost_the_script(room, people):
    ws = await connect(people[0])
    assert (await say(ws, room, "before", "c1"))["t"] == "ack"
    await sync_to_async(client().script_flush)()  # as after a Redis restart

    concurrent = [
        ws.send_json_to(
            {"op": "say", "ch": f"chat:room:{room.pk}", "text": f"after {i}", "cid": f"d{i}"}
        )
        for i in range(3)
    ]
    await asyncio.gather(*concurrent)
    replies = [await frame(ws) for _ in range(3)]

    assert [r["t"] for r in replies] == ["ack"] * 3
    assert len({r["d"]["id"] for r in replies}) == 3


async def test_after_a_redis_loss_a_banned_fan_still_cannot_read(room, people, moderator):
    ana, _, _ = people
    await sync_to_async(moderation.sanction_create)(
        actor=moderator, user_id=ana.pk, kind="ban", room=room, minutes=None, reason="abuse"
    )
    client().flushdb()  # chat's hot state is gone; nobody has posted since
    ws = await connect(ana)

    refused = await join(ws, room)

    assert refused["t"] == "err" and refused["code"] == "banned"
    await ws.disconnect()


async def test_every_refusal_of_say_carries_its_cid(room, people):
    anonymous = await connect()
    signed_in = await connect(people[0])

    signed_out = await say(anonymous, room, "hi", "k3v9-1")
    await signed_in.send_json_to(
        {"op": "say", "ch": "leaderboard:global", "text": "x", "cid": "k3v9-2"}
    )
    wrong_channel = await frame(signed_in)

    assert signed_out["code"] == "forbidden" and signed_out["cid"] == "k3v9-1"
    assert wrong_channel["code"] == "bad_channel" and wrong_channel["cid"] == "k3v9-2"
    await anonymous.disconnect()
    await signed_in.disconnect()
