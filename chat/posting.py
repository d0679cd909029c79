"""Posting a message, the part both paths share (the socket's `say` and the REST POST):
the checks that need no shared state (type, cid, cleaning, the blocklist and links), then
the say script (chat/live.py), then one reading of its answer."""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from chat import text as chat_text
from chat.filters import Filters
from chat.live import Said
from core.metrics import CHAT_POSTS

CID_PATTERN = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII, no spaces
_NOT_ALNUM = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Refused:
    """A refused post: `code` is the error frame code (docs/protocol.md), `status` the REST
    status, `wait` seconds before a retry can succeed (time-based refusals)."""

    code: str
    message: str
    status: int = 400
    wait: float | None = None
    until: int | None = None  # a sanction's end, unix milliseconds (0: until lifted)

    def extra(self) -> dict[str, Any]:
        found = {"wait": self.wait, "until": self.until}
        return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True)
class Prepared:
    text: str
    text_hash: str  # of its letters and digits: duplicates punctuated differently still match


def banned(until_ms: int) -> Refused:
    """The refusal of a banned fan's read or post (until: unix ms, 0 until lifted)."""
    return Refused("banned", "you are banned from this room", 403, until=until_ms)


def check_cid(cid: object) -> Refused | None:
    if not isinstance(cid, str) or not CID_PATTERN.fullmatch(cid):
        return Refused("bad_frame", "cid must be 1-64 printable ASCII characters")
    return None


def prepare(raw: object, filters: Filters) -> Prepared | tuple[Refused, dict[str, str]]:
    """The cleaned text, or the refusal with what the audit row records (empty: none)."""
    if not isinstance(raw, str):
        return Refused("bad_frame", "text must be a string"), {}
    if len(raw) > chat_text.MAX_CHARS * 8:  # 8: generous room for characters cleaning drops
        return Refused("too_long", f"at most {chat_text.MAX_CHARS} characters"), {}
    try:
        text = chat_text.clean(raw)
    except chat_text.TextRefused as refused:
        return Refused(refused.code, str(refused)), {}
    refusal = filters.check(text)
    if refusal is not None:
        return Refused(refusal.code, refusal.message), refusal.detail
    # Duplicates compare letters and digits only: "GOAL!!!" and "g o a l" are the same text.
    key = _NOT_ALNUM.sub("", text.casefold()) or text
    return Prepared(text, hashlib.blake2b(key.encode(), digest_size=8).hexdigest())


def refusal_of(said: Said) -> Refused | None:
    """None when the script accepted (or acknowledged a repeated cid)."""
    if said.accepted:
        return None
    wait = round(said.wait_ms / 1000, 3)
    match said.status:
        case "muted":
            return Refused("muted", "you are muted in this room", 403, until=said.until_ms)
        case "banned":
            return Refused("banned", "you are banned from this room", 403, until=said.until_ms)
        case "slow_mode":
            return Refused("slow_mode", "slow mode: wait before posting again", 429, wait=wait)
        case "rate_limited":
            return Refused("rate_limited", "posting too fast", 429, wait=wait)
        case "room_busy":
            return Refused("room_busy", "the room is full of messages; retry", 429, wait=wait)
        case "duplicate":
            return Refused("duplicate", "you just said that (or many did)", 400)
    return Refused("unavailable", "chat is being rebuilt; retry shortly", 503, wait=1.0)


# Refusals by a filter are audited (ModerationAction rows of these actions); the others
# (rate, slow mode, sanctions) are only counted.
AUDITED = frozenset({"blocked", "link", "duplicate"})


def refused_record(
    refused: Refused, *, room_id: int, user_id: int, detail: dict[str, str], text: object
) -> str | None:
    """Count a refusal; for a filter's, the audit record to queue (chat:audit, flushed in
    batches with the messages), else None. Both paths (socket and REST) go through here."""
    CHAT_POSTS.labels(refused.code).inc()
    if refused.code not in AUDITED:
        return None
    record = {
        "a": refused.code,
        "r": room_id,
        "u": user_id,
        "ts": int(time.time() * 1000),
        "d": {**detail, "text": str(text)[:300]},
    }
    return json.dumps(record, ensure_ascii=False)
