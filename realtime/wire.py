"""What travels between the producers and the gateways: a frame in its envelope.

Every published message is `MARK header MARK text`: the header says, in four fields
separated by spaces, what the gateway needs to route the frame without decoding it (its
type, its seq or 0, the user it concerns or 0, and the correlation id of the work that made
it, `-` for none); `text` is what sockets are written, unchanged. The envelope is built
here, for Python producers (`seal`) and for Lua scripts that publish inside their atomic
step (`script`), and opened here (`unseal`), so nothing else knows its layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.context import correlation

MARK = "\x1e"  # ASCII record separator: never inside a header, never a frame's first char


@dataclass(frozen=True, slots=True)
class Envelope:
    """A published frame as the gateway receives it."""

    t: str  # the frame's type; "m" for one chat message item (batched by the gateway)
    seq: int  # 0: the frame is not sequenced
    user: int  # the user a chat item or a kick concerns (0: none)
    cid: str  # correlation id, "-" for none
    text: str


def header(t: str, seq: int = 0, user: int = 0) -> str:
    """The envelope's front, carrying the current correlation id."""
    return f"{MARK}{t} {seq} {user} {current_cid()}{MARK}"


def current_cid() -> str:
    """The correlation id as a header field: a provider's event id may hold a space or a
    separator, which would break the header; those become "_"."""
    cid = correlation.get()
    if " " in cid or MARK in cid:
        cid = "".join("_" if c in (" ", MARK) else c for c in cid)
    return cid


def seal(t: str, text: str, seq: int = 0, user: int = 0) -> str:
    return header(t, seq, user) + text


def unseal(raw: str) -> Envelope:
    """Open a published message. A message without an envelope (a producer from before the
    envelope, a hand-written test) is refused by the caller: its type is unknown."""
    if not raw.startswith(MARK):
        raise ValueError("a published message without its envelope")
    _, head, text = raw.split(MARK, 2)
    t, seq, user, cid = head.split(" ")
    return Envelope(t, int(seq), int(user), cid, text)


def timeline_member(t: str, text: str) -> str:
    """A frame as a sequenced channel's timeline keeps it (scored by its seq): its type in
    front, so a gateway filling a gap from the timeline knows what it delivers."""
    return f"{t}{MARK}{text}"


def from_timeline(member: str) -> tuple[str, str]:
    """(type, text) of a timeline member."""
    t, _, text = member.partition(MARK)
    return t, text


# A Lua script that publishes frames inside its own atomic step (chat's `say`, a room-wide
# frame to every shard, a match's snapshot with its frames) is wrapped by `script`: its body
# calls `emit(pubsub, t, seq, user, text)`, which publishes the frame in its envelope, and
# the script answers {the body's reply, {pubsub, t, seq, text, ...}} so the Python side reports
# every frame to realtime.publish's sink. The last two ARGV are the correlation id (last) and
# whether anyone watches the sink ("1": a test): in production the script answers no frame
# texts, so a chat message or a room-wide frame does not travel back from Redis for nothing.
_PRELUDE = """
local __cid = table.remove(ARGV)
local __report = table.remove(ARGV) == '1'
local __sent = {}
local function emit(pubsub, t, seq, user, text)
  redis.call('PUBLISH', pubsub, '\\30' .. t .. ' ' .. seq .. ' ' .. user .. ' ' .. __cid ..
    '\\30' .. text)
  if __report then
    __sent[#__sent + 1] = pubsub
    __sent[#__sent + 1] = t
    __sent[#__sent + 1] = seq
    __sent[#__sent + 1] = text
  end
end
local function __body()
"""
_EPILOGUE = """
end
return {__body(), __sent}
"""


def script(body: str) -> str:
    """A Lua script body made able to `emit` frames (see above)."""
    return _PRELUDE + body + _EPILOGUE
