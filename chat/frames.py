"""Chat's frames (docs/chat.md): every shape a chat room's subscribers (or the gateways) get,
typed and encoded here. Message items are built by the `say` script in Redis (chat/live.py),
which spells `Item` in Lua, and the `room` frame by the `announce` script; both follow the
shapes below."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from realtime.channels import chat_channel
from realtime.frames import encode

ChatFrameType = Literal["msgs", "hist", "del", "room", "kick", "unsub"]


class Item(TypedDict):
    """One message: id, author id, author's name, text, unix ms."""

    id: int
    u: int
    n: str
    x: str
    ts: int


class History(TypedDict):
    """`hist`, on `sub`: the recent messages oldest first, and the slow mode now."""

    m: list[Item]
    slow: int
    auto: NotRequired[int]


class Deleted(TypedDict, total=False):
    """`del`: drop these message ids, or every message of this author (a clear)."""

    ids: list[int]
    u: int


class RoomState(TypedDict):
    """`room`: the room's slow mode in seconds (0: off), `auto` when a flood set it."""

    slow: int
    auto: NotRequired[int]


class Kick(TypedDict):
    """`kick`, for the gateways only: take this user's sockets off the room, telling them
    why (`unsub` with `r`)."""

    u: int
    r: str


def _frame(room_id: int, t: ChatFrameType, data: object) -> str:
    return encode({"ch": chat_channel(room_id), "t": t, "d": data})


def delete_frame(room_id: int, ids: list[int] | None = None, user_id: int | None = None) -> str:
    data: Deleted = {"ids": ids} if ids is not None else {"u": user_id or 0}
    return _frame(room_id, "del", data)


def kick_frame(room_id: int, user_id: int, reason: str) -> str:
    data: Kick = {"u": user_id, "r": reason}
    return _frame(room_id, "kick", data)


def unsub_frame(room_id: int, reason: str) -> str:
    """What a kicked socket gets: it is off the room, and why."""
    return _frame(room_id, "unsub", {"r": reason})


def batch_frame(room_id: int, items: list[str]) -> str:
    """`msgs`: one tick's message items (already encoded, as the script published them)."""
    return f'{{"ch":"{chat_channel(room_id)}","t":"msgs","d":[{",".join(items)}]}}'


def history_frame(room_id: int, items: list[str], slow: int, auto: bool) -> str:
    """`hist` from encoded items (the recent list keeps them encoded)."""
    state = f',"slow":{slow}' + (',"auto":1' if auto else "")
    return f'{{"ch":"{chat_channel(room_id)}","t":"hist","d":{{"m":[{",".join(items)}]{state}}}}}'
