"""Frame shapes: every frame a client receives is typed here and encoded here, once.

docs/protocol.md documents each of them; keep both in step. Payloads (`d`) are compact:
short keys, no nulls, deltas rather than documents. A frame is encoded once, when it is
built, and the same text is written to every socket.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict

FrameType = Literal[
    # sequenced match frames (matches/frames.py builds their `d`)
    "snap",
    "goal",
    "disallow",
    "correct",
    "card",
    "sub",
    "miss",
    "var",
    "pen",
    "status",
    "stat",
    "lineup",
    "stats",
    # channel control
    "reset",
    # leaderboards and personal frames
    "lb",
    "points",
    "prov",
    "trend",
    "bracket",
    # reactions to a match's moments (best effort, newest wins per moment)
    "rx",
]


def encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out nulls and empty strings: they cost bytes on every socket."""
    return {k: v for k, v in data.items() if v is not None and v != ""}


@dataclass(frozen=True)
class Frame:
    """One frame on one channel. `seq` orders the frames of a sequenced channel (0: none);
    `text` is the encoded frame, with "seq" right after "t" (the gateway reads it there
    without decoding)."""

    channel: str
    t: FrameType
    d: dict[str, Any] | None = None
    seq: int = 0
    text: str = field(init=False, repr=False, compare=False)
    # where a field can be put first into `d` without decoding the text (the gateway writes
    # a snapshot's live watcher count there): the offset just after `"d":{`; -1 when `d` is
    # absent or empty
    slot: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        head: dict[str, Any] = {"ch": self.channel, "t": self.t}
        if self.seq or self.t == "snap":  # a snapshot states its seq, even 0 (nothing yet)
            head["seq"] = self.seq
        text, slot = encode(head), -1
        if self.d is not None:
            # the same bytes as encoding the whole payload at once, with the slot known
            front = f'{text[:-1]},"d":'
            text = f"{front}{encode(self.d)}}}"
            slot = len(front) + 1 if self.d else -1
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "slot", slot)


# ---- payloads of the frames built outside the match domain ---------------------------------


class LeaderboardTop(TypedDict):
    """`lb` on leaderboard:<scope>: the new top, [[user id, points], ...]; `prov`: 1 when
    provisional (a match is live), absent when settled."""

    top: list[list[int]]
    prov: NotRequired[int]


class Points(TypedDict):
    """`points` on user:<id>: a settled match's points, the new total and global rank."""

    m: str
    pts: int
    tot: int
    rank: int | None


class Reactions(TypedDict):
    """`rx` on match:<slug>: the whole counts of one moment (`m`: its seq), by kind."""

    m: int
    c: dict[str, int]


def reactions_frame(slug: str, seq: int, counts: dict[str, int]) -> Frame:
    # "m" comes first in `d`: the gateway tells a moment's frames apart by the text up to
    # it (newest wins per moment, gateway/connection.py).
    return Frame(f"match:{slug}", "rx", dict(Reactions(m=seq, c=counts)))


def leaderboard_frame(channel: str, data: LeaderboardTop) -> Frame:
    return Frame(channel, "lb", dict(data))


def points_frame(channel: str, data: Points) -> Frame:
    return Frame(channel, "points", compact(dict(data)))


def reset_frame(channel: str) -> Frame:
    """The object behind a sequenced channel was re-created: clients drop what they hold and
    expect seq to start again from 1."""
    return Frame(channel, "reset")


# ---- replies to a client's own ops (never published) ----------------------------------------


def error_text(code: str, message: str, **extra: Any) -> str:
    return encode({"t": "err", "code": code, "msg": message, **extra})


def reply_text(**fields: Any) -> str:
    """An acknowledgement (`ok`, `unsub`, `auth`, `pong`): `t` and its fields."""
    return encode(fields)


def clock_text(t: Literal["pong", "hb"]) -> str:
    """`pong` (the answer to `ping`) or `hb` (the server's heartbeat), with the server's
    clock in unix milliseconds: a client times its connection's liveness by these and takes
    its idea of "now" from `ts` (docs/protocol.md, "Liveness")."""
    return f'{{"t":"{t}","ts":{time.time_ns() // 1_000_000}}}'
