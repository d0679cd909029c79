"""Chat for the WebSocket gateway: the room checks of `sub`, and `say`, asynchronous and on
the gateway's own Redis client. The consumer turns the answers into frames; the rules are
the same objects the REST path uses (chat/posting.py, chat/live.py)."""

from __future__ import annotations

from dataclasses import dataclass

from channels.db import database_sync_to_async

from chat import filters, live, persistence, posting, selectors
from chat.posting import Refused, check_cid
from core.metrics import CHAT_POSTS

__all__ = ["Ack", "Refused", "check_cid", "may_read", "say"]

_room_info = database_sync_to_async(selectors.room_info)
_is_member = database_sync_to_async(selectors.is_member)


async def room_info(room_id: int) -> selectors.RoomInfo | None:
    # The hot path (every `say`) stays on the event loop: a worker-thread hop costs more
    # than the whole post when the answer is cached.
    found, info = selectors.cached_room(room_id)
    return info if found else await _room_info(room_id)


async def may_write(room: selectors.RoomInfo, user_id: int | None) -> bool:
    """Members only for a league room, checked in the database on every post."""
    return room.public or await _is_member(room, user_id)


_display_name = database_sync_to_async(selectors.display_name)
_current_filters = database_sync_to_async(filters.current)
_rebuild = database_sync_to_async(persistence.hot_state_rebuild)


@dataclass(frozen=True)
class Ack:
    cid: str
    id: int
    ts: int
    again: bool  # a repeated cid: acknowledged again, not posted twice


async def may_read(room_id: int, user_id: int | None, scripts: live.Scripts) -> Refused | None:
    """Why this user may not read the room, or None."""
    room = await room_info(room_id)
    if room is None:
        return Refused("unknown_channel", "no such room", 404)
    if not await may_write(room, user_id):
        return Refused("forbidden", "only the league's members read this room", 403)
    if not user_id:
        return None
    built, until = await live.ban_state(scripts.client, room_id, user_id)  # type: ignore[arg-type]
    if not built:  # Redis lost chat's state: its bans come back from PostgreSQL first
        if not await _rebuild():
            return Refused("unavailable", "chat is being restored; try again shortly", 503)
        built, until = await live.ban_state(scripts.client, room_id, user_id)  # type: ignore[arg-type]
    return None if until is None else posting.banned(until)


async def say(
    scripts: live.Scripts, *, user_id: int, room_id: int, text: object, cid: str, shard: int
) -> Ack | Refused:
    room = await room_info(room_id)
    if room is None:
        return Refused("unknown_channel", "no such room", 404)
    if not await may_write(room, user_id):
        return Refused("not_member", "only the league's members chat here", 403)
    prepared = posting.prepare(text, filters.cached() or await _current_filters())
    if isinstance(prepared, tuple):
        refused, detail = prepared
        await _audit(scripts, refused, room_id, user_id, detail, text)
        return refused
    found, name = selectors.cached_name(user_id)
    args = live.say_args(
        room_id=room_id,
        user_id=user_id,
        cid=cid,
        text=prepared.text,
        text_hash=prepared.text_hash,
        name=name if found else await _display_name(user_id),
        shard=shard,
    )
    said = live.said_from(await scripts.say(args=args))
    if said.status == "rebuild" and await _rebuild():
        said = live.said_from(await scripts.say(args=args))
    refusal = posting.refusal_of(said)
    if refusal is not None:
        await _audit(scripts, refusal, room_id, user_id, {}, prepared.text)
        return refusal
    CHAT_POSTS.labels(said.status).inc()
    if said.auto_slow_on:
        await live.announce_slow_mode(scripts, room_id)
    return Ack(cid, said.id, said.ts, said.status == "again")


async def _audit(
    scripts: live.Scripts,
    refused: Refused,
    room_id: int,
    user_id: int,
    detail: dict[str, str],
    text: object,
) -> None:
    record = posting.refused_record(
        refused, room_id=room_id, user_id=user_id, detail=detail, text=text
    )
    if record is not None:
        await scripts.client.rpush(live.AUDIT_KEY, record)  # type: ignore[misc]
