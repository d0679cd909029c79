"""Chat across real processes: sockets on two servers (Daphne and uvicorn), a Celery worker
with beat persisting messages, the provider feed publishing goals during a flood."""

import asyncio
import contextlib

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from websockets.exceptions import ConnectionClosed

from chat.models import Message, Room
from chat.services import room_for_match
from matches import simulator
from tests.feedclient import feed_event
from tests.integration.conftest import start_worker, wait_until
from tests.integration.wsclient import Fan

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def signed_in(name: str) -> str:
    user = User.objects.create_user(name, password=f"pw-{name}-1")
    return Token.objects.create(user=user).key


async def fan_on(server, token: str | None, room: Room) -> Fan:
    fan = await Fan.connect(server.ws_url)
    if token:
        await fan.send({"op": "auth", "token": token})
        assert (await fan.recv())["t"] == "auth"
    await fan.send({"op": "sub", "ch": f"chat:room:{room.pk}"})
    assert (await fan.recv())["t"] == "hist"
    return fan


def test_messages_reach_postgres_through_the_beat_flush(servers, match, stack_env, tmp_path):
    room = room_for_match(match.pk)
    token = signed_in("ana")
    flusher = start_worker(stack_env, tmp_path / "flush.log", "realtime", beat=True)

    async def scenario():
        author = await fan_on(servers["daphne"], token, room)
        listener = await fan_on(servers["uvicorn"], None, room)  # another process
        await author.send({"op": "say", "ch": f"chat:room:{room.pk}", "text": "Vamos", "cid": "c1"})
        ack = await author.recv()
        got = await listener.recv_until(lambda f: f["t"] == "msgs")
        await author.close()
        await listener.close()
        return ack, got[-1]

    try:
        ack, batch = asyncio.run(scenario())
        wait_until(lambda: Message.objects.filter(pk=ack["d"]["id"]).exists(), 15, "the flush")
    finally:
        flusher.stop()

    assert batch["d"][0]["id"] == ack["d"]["id"] and batch["d"][0]["x"] == "Vamos"
    page = servers["uvicorn"].get_json(f"/api/v1/chat/rooms/{room.pk}/messages/")
    assert [m["text"] for m in page] == ["Vamos"]


def test_under_a_chat_flood_every_goal_arrives_in_order(servers, match):
    """Flooders on Daphne, the watching fan on uvicorn, goals through the signed feed."""
    room = room_for_match(match.pk)
    tokens = [signed_in(f"chanter{i}") for i in range(6)]
    channel = f"match:{match.slug}"

    async def scenario():
        fan = await Fan.connect(servers["uvicorn"].ws_url)
        await fan.send({"op": "sub", "ch": channel})
        assert (await fan.recv())["t"] == "snap"
        await fan.send({"op": "sub", "ch": f"chat:room:{room.pk}"})
        assert (await fan.recv())["t"] == "hist"
        flooders = [await fan_on(servers["daphne"], t, room) for t in tokens]

        async def flood() -> None:
            # Far over the fans' rate limit: the flooders are refused, and closed (4008)
            # after 10 refusals each; what they got through still floods the room.
            for i in range(240):
                ws = flooders[i % len(flooders)]
                text = f"chant number {i}"
                frame = {"op": "say", "ch": f"chat:room:{room.pk}", "text": text, "cid": f"f{i}"}
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(frame)
                await asyncio.sleep(0.01)

        def goals() -> None:
            events = [feed_event(match, 1, "status", status="first_half")]
            events += [feed_event(match, n, "goal", team="ARG", minute=n) for n in range(2, 8)]
            for event in events:
                simulator.post_events(
                    base_url=servers["daphne"].url, provider="demo", events=[event]
                )

        await asyncio.gather(flood(), asyncio.to_thread(goals))
        seen = {"goals": False, "chat": False}

        def done(frame: dict) -> bool:  # chat waits while goals go out, then flows again
            seen["goals"] |= frame.get("seq") == 7
            seen["chat"] |= frame["t"] == "msgs"
            return seen["goals"] and seen["chat"]

        frames = await fan.recv_until(done)
        for ws in [fan, *flooders]:
            with contextlib.suppress(ConnectionClosed):
                await ws.close()
        return frames

    frames = asyncio.run(scenario())

    seqs = [f["seq"] for f in frames if f["ch"] == channel]
    assert seqs == list(range(1, 8))  # every score frame, in order, none twice
    assert any(f["t"] == "msgs" for f in frames)  # the chat did flow meanwhile
