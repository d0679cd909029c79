"""Reactions to a match's moments: hot in Redis, kept in PostgreSQL (docs/social.md).

A fan reacts to a moment (a goal, a card, a VAR decision, a missed penalty, a shootout kick,
full time) with one of a fixed set; one reaction per fan and moment, changed or taken back
in place. One Lua script per reaction applies it to the match's counts and remembers the
fan's choice, atomically, and queues a record; `reactions_flush` (beat, every second) writes
the queued records to PostgreSQL in batches, the newest per fan and moment winning.

Keys, all on the general Redis, per match (hash-tagged, so a cluster keeps them on one slot):
- `rx:{<match>}:built`: the counts below were built from PostgreSQL; absent (never built,
  expired, or lost with Redis), the next read or reaction builds them first;
- `rx:{<match>}:c`: `<event>:<kind>` -> count;
- `rx:{<match>}:u`: `<event>:<user>` -> kind;
- `rx:pending`: records waiting to be written.
A match's keys expire together MATCH_TTL after its last reaction (the flag, the counts and
the choices at once, so they never disagree). Queued records exist only while their match's
flag does (a reaction needs it), so a rebuild from PostgreSQL never counts one twice; a
Redis loss loses at most the records of the last second, as chat's does (docs/social.md).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from chat.selectors import active_ban, match_rooms
from core.errors import DomainError
from core.redis import client
from matches.models import GOAL_KINDS, EventKind, Match, MatchEvent
from social.models import Reaction, ReactionKind

logger = logging.getLogger("livescore.social")

K = EventKind
MOMENT_KINDS = frozenset(
    {*GOAL_KINDS, K.YELLOW, K.RED, K.MISSED_PENALTY, K.VAR_REVIEW, K.GOAL_DISALLOWED,
     K.SHOOTOUT_KICK, K.FULL_TIME}
)  # fmt: skip
MATCH_TTL = 2 * 24 * 3600
PENDING_KEY = "rx:pending"
FLUSH_LOCK_KEY = "rx:flush:lock"
FLUSH_BATCH = 2000
REBUILD_WAIT_SECONDS = 3.0


class ReactionError(DomainError):
    code = "reaction_rule"


def _keys(match_id: int) -> tuple[str, str, str]:
    tag = f"rx:{{{match_id}}}"
    return f"{tag}:built", f"{tag}:c", f"{tag}:u"


# KEYS: built flag, counts, choices, pending. ARGV: "<event>", "<event>:<user>", kind ("" to
# take it back), the record to queue, TTL, then every reaction kind. Returns -1 when the
# counts must be built first, else 1 (changed) or 0 (the same as before) and the moment's
# count of each kind, in ARGV's order.
_REACT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local old = redis.call('HGET', KEYS[3], ARGV[2])
if not old then old = '' end
local changed = 0
if old ~= ARGV[3] then
  changed = 1
  if old ~= '' then redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':' .. old, -1) end
  if ARGV[3] == '' then
    redis.call('HDEL', KEYS[3], ARGV[2])
  else
    redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
    redis.call('HINCRBY', KEYS[2], ARGV[1] .. ':' .. ARGV[3], 1)
  end
  redis.call('RPUSH', KEYS[4], ARGV[4])
end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[1] .. ':' .. ARGV[i] end
return {changed, redis.call('HMGET', KEYS[2], unpack(fields))}
"""


@dataclass(frozen=True)
class Moment:
    seq: int
    counts: dict[str, int]
    mine: str | None = None


def moment_of(match: Match, seq: int) -> MatchEvent:
    event = MatchEvent.objects.filter(match=match, seq=seq).first()
    if event is None:
        raise ReactionError(f"no event #{seq} in this match", status=404)
    if event.kind not in MOMENT_KINDS:
        raise ReactionError("fans react to goals, cards, VAR decisions, penalties and full time")
    return event


def reaction_set(*, user_id: int, match: Match, seq: int, kind: str) -> Moment:
    """The fan's reaction to the moment `seq` (`kind` "" takes it back); refused to a fan
    banned from the match's chat room. Returns the moment's counts after it."""
    if kind and kind not in ReactionKind.values:
        raise ReactionError(f"kind must be one of {', '.join(ReactionKind.values)}")
    event = moment_of(match, seq)
    room = match_rooms([match.slug]).get(match.slug)
    if room is not None and active_ban(room, user_id) is not None:
        raise ReactionError("you are banned from this match's room", status=403)
    record = json.dumps({"e": event.pk, "u": user_id, "k": kind, "t": time.time()})
    built, counts_key, users_key = _keys(match.pk)
    args: list[str | int] = [str(event.pk), f"{event.pk}:{user_id}", kind, record, MATCH_TTL]
    args += ReactionKind.values
    redis = client()
    for _ in range(2):
        reply = redis.eval(_REACT, 4, built, counts_key, users_key, PENDING_KEY, *args)
        if reply[0] != -1:
            counts = {k: int(n) for k, n in zip(ReactionKind.values, reply[1], strict=True) if n}
            return Moment(seq, {k: n for k, n in sorted(counts.items()) if n > 0}, kind or None)
        counts_build(match)
    raise ReactionError("reactions are being rebuilt; try again", status=503)


def moments(match: Match, user_id: int | None = None) -> list[Moment]:
    """Every moment of the match with its counts (and the fan's own reaction)."""
    events = list(
        MatchEvent.objects.filter(match=match, kind__in=MOMENT_KINDS).values_list("pk", "seq")
    )
    built, counts_key, users_key = _keys(match.pk)
    redis = client()
    if not redis.exists(built):
        counts_build(match)
    counts = _pairs(redis.hgetall(counts_key))
    mine: list[Any] = [None] * len(events)
    if user_id and events:
        mine = redis.hmget(users_key, [f"{pk}:{user_id}" for pk, _ in events])
    return [
        Moment(seq, _counts_of(counts, pk), _text(choice))
        for (pk, seq), choice in zip(events, mine, strict=True)
    ]


def counts_build(match: Match) -> None:
    """The match's counts and the fans' choices, rebuilt in Redis from PostgreSQL (records
    still queued are in PostgreSQL's future, not its past: see the module's docstring).
    One builder at a time; the others wait for its flag."""
    built, counts_key, users_key = _keys(match.pk)
    redis = client()
    lock = f"rx:{{{match.pk}}}:lock"
    if not redis.set(lock, 1, nx=True, ex=30):
        deadline = time.monotonic() + REBUILD_WAIT_SECONDS
        while time.monotonic() < deadline and not redis.exists(built):
            time.sleep(0.05)
        return
    try:
        rows = Reaction.objects.filter(event__match=match).values_list(
            "event_id", "user_id", "kind"
        )
        counts: dict[str, int] = defaultdict(int)
        users = {}
        for event_id, user_id, kind in rows:
            counts[f"{event_id}:{kind}"] += 1
            users[f"{event_id}:{user_id}"] = kind
        pipe = redis.pipeline(transaction=True)
        pipe.delete(counts_key, users_key)
        if counts:
            pipe.hset(counts_key, mapping=counts)  # type: ignore[arg-type]  # invariant keys
            pipe.hset(users_key, mapping=users)  # type: ignore[arg-type]
            pipe.expire(counts_key, MATCH_TTL)
            pipe.expire(users_key, MATCH_TTL)
        pipe.set(built, 1, ex=MATCH_TTL)
        pipe.execute()
        logger.info("reaction counts built match=%s reactions=%s", match.slug, len(users))
    finally:
        redis.delete(lock)


def reactions_flush(batches: int = 50) -> int:
    """Write queued reactions to PostgreSQL, the newest per fan and moment winning: read a
    batch, write it (insert or update; a taken-back one deleted), commit, then trim. A run
    killed between the commit and the trim writes the same batch again next time, to the
    same result. One flusher at a time."""
    redis = client()
    if not redis.set(FLUSH_LOCK_KEY, 1, nx=True, ex=60):
        return 0
    moved = 0
    try:
        for _ in range(batches):
            raw = redis.lrange(PENDING_KEY, 0, FLUSH_BATCH - 1)
            if not raw:
                break
            _store(json.loads(r) for r in raw)
            redis.ltrim(PENDING_KEY, len(raw), -1)
            moved += len(raw)
    finally:
        redis.delete(FLUSH_LOCK_KEY)
    return moved


def _store(records: Iterable[dict[str, Any]]) -> None:
    newest: dict[tuple[int, int], dict[str, Any]] = {}
    for record in records:
        newest[(record["e"], record["u"])] = record  # queued in order: the last one wins
    existing_events = set(
        MatchEvent.objects.filter(pk__in={e for e, _ in newest}).values_list("pk", flat=True)
    )
    keep = [r for (e, _), r in newest.items() if e in existing_events]
    with transaction.atomic():
        gone = [r for r in keep if not r["k"]]
        for r in gone:
            Reaction.objects.filter(event_id=r["e"], user_id=r["u"]).delete()
        rows = [
            Reaction(
                event_id=r["e"],
                user_id=r["u"],
                kind=r["k"],
                updated_at=dt.datetime.fromtimestamp(r["t"], tz=dt.UTC),
            )
            for r in keep
            if r["k"]
        ]
        Reaction.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["user", "event"],
            update_fields=["kind", "updated_at"],
        )


def _pairs(flat: Any) -> dict[str, int]:
    if isinstance(flat, dict):
        return {_text(k) or "": int(v) for k, v in flat.items()}
    items = [_text(x) or "" for x in flat]
    return {items[i]: int(items[i + 1]) for i in range(0, len(items), 2)}


def _counts_of(counts: dict[str, int], event_id: int) -> dict[str, int]:
    prefix = f"{event_id}:"
    found = {k[len(prefix) :]: n for k, n in counts.items() if k.startswith(prefix) and n > 0}
    return dict(sorted(found.items()))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)
