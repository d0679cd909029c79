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
- `rx:pending`: records waiting to be written;
- `rx:dirty`: the moments whose counts changed since the last `rx` frames went out
  (`reactions_publish`, every second: newest-wins frames in the best-effort class);
- `rx:rl:<user>`: the fan's reactions in the current window (THROTTLE_REACTIONS, the same
  limit over the socket and REST).
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

from django.conf import settings
from django.db import transaction

from chat.selectors import active_ban, match_rooms
from core.caches import TTLCache
from core.errors import DomainError
from core.redis import client
from matches.models import GOAL_KINDS, EventKind, Match, MatchEvent
from realtime.frames import reactions_frame
from realtime.publish import publish_now
from social.models import Reaction, ReactionKind

logger = logging.getLogger("livescore.social")

K = EventKind
MOMENT_KINDS = frozenset(
    {*GOAL_KINDS, K.YELLOW, K.RED, K.MISSED_PENALTY, K.VAR_REVIEW, K.GOAL_DISALLOWED,
     K.SHOOTOUT_KICK, K.FULL_TIME}
)  # fmt: skip
MATCH_TTL = 2 * 24 * 3600
PENDING_KEY = "rx:pending"
DIRTY_KEY = "rx:dirty"
FRAMES_LOCK_KEY = "rx:publish:lock"
# `rx` frames go out at most this often per moment (docs/protocol.md): the publisher runs
# every second and skips a run that comes sooner than this after the previous one.
FRAME_INTERVAL_MS = 900
FRAMES_BATCH = 5000
BANNED = "you are banned from this match's room"
REBUILDING = "reactions are being rebuilt; try again"
FLUSH_LOCK_KEY = "rx:flush:lock"
FLUSH_BATCH = 2000
REBUILD_WAIT_SECONDS = 3.0


class ReactionError(DomainError):
    code = "reaction_rule"


def _keys(match_id: int) -> tuple[str, str, str]:
    tag = f"rx:{{{match_id}}}"
    return f"{tag}:built", f"{tag}:c", f"{tag}:u"


# KEYS: built flag, counts, choices, pending, dirty moments, the fan's rate window.
# ARGV: "<event>", "<event>:<user>", kind ("" to take it back), the record to queue, TTL,
# the dirty-moment member, the rate limit and its window in seconds, then every reaction
# kind. Returns {-1} when the counts must be built first, {-2, ms} when the fan is over the
# limit (ms until the window ends), else 1 (changed) or 0 (the same as before) and the
# moment's count of each kind, in ARGV's order.
REACT_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local used = redis.call('INCR', KEYS[6])
if used == 1 then redis.call('EXPIRE', KEYS[6], ARGV[8]) end
if used > tonumber(ARGV[7]) then return {-2, redis.call('PTTL', KEYS[6])} end
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
  redis.call('SADD', KEYS[5], ARGV[6])
end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
local fields = {}
for i = 9, #ARGV do fields[#fields + 1] = ARGV[1] .. ':' .. ARGV[i] end
return {changed, redis.call('HMGET', KEYS[2], unpack(fields))}
"""


@dataclass(frozen=True)
class Moment:
    seq: int
    counts: dict[str, int]
    mine: str | None = None


@dataclass(frozen=True)
class MomentRef:
    """What a reaction needs of its moment, cached per process (a moment never changes
    match, seq or kind; a VAR correction is a new event)."""

    match_id: int
    slug: str
    event_id: int
    seq: int
    room_id: int | None  # the match's chat room, whose bans shut a fan out of reacting

    @property
    def dirty(self) -> str:
        return f"{self.match_id}:{self.event_id}:{self.seq}:{self.slug}"


class RateLimited(ReactionError):
    code = "rate_limited"
    status = 429


_refs: TTLCache[tuple[str, int], MomentRef] = TTLCache(60, 50_000)
# Refusals are kept a few seconds only: the event may be recorded next.
_refused: TTLCache[tuple[str, int], tuple[str, int]] = TTLCache(3, 10_000)


def cached_ref(slug: str, seq: int) -> MomentRef | None:
    """The moment from this process's cache, without the database (ReactionError for a
    refusal cached moments ago); None when the cache does not know."""
    found, ref = _refs.get((slug, seq))
    if found:
        return ref
    found, refusal = _refused.get((slug, seq))
    if found and refusal is not None:
        raise ReactionError(*refusal)
    return None


def moment_ref(slug: str, seq: int) -> MomentRef:
    """The moment `seq` of the match `slug`, from the cache or PostgreSQL; ReactionError
    (404 or 400) when there is none to react to."""
    ref = cached_ref(slug, seq)
    if ref is not None:
        return ref
    found = _lookup(slug, seq)
    if isinstance(found, tuple):
        _refused.set((slug, seq), found)
        raise ReactionError(*found)
    if found.room_id is not None:  # a room may yet be opened: its bans must count at once
        _refs.set((slug, seq), found)
    return found


def _lookup(slug: str, seq: int) -> MomentRef | tuple[str, int]:
    row = (
        MatchEvent.objects.filter(match__slug=slug, seq=seq)
        .values_list("pk", "kind", "match_id")
        .first()
    )
    if row is None:
        if not Match.objects.filter(slug=slug).exists():
            return "no such match", 404
        return f"no event #{seq} in this match", 404
    event_id, kind, match_id = row
    if kind not in MOMENT_KINDS:
        return "fans react to goals, cards, VAR decisions, penalties and full time", 400
    return MomentRef(match_id, slug, event_id, seq, match_rooms([slug]).get(slug))


def forget_caches() -> None:
    _refs.clear()
    _refused.clear()


def check_kind(kind: object) -> str:
    """The kind asked for ("" or None: take the reaction back)."""
    if kind is None or kind == "":
        return ""
    if not isinstance(kind, str) or kind not in ReactionKind.values:
        raise ReactionError(f"kind must be one of {', '.join(ReactionKind.values)}")
    return kind


def rate() -> tuple[int, int]:
    """(reactions, per seconds) a fan may make: THROTTLE_REACTIONS, e.g. "30/min"."""
    text: str = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["reactions"]  # type: ignore[index]
    count, _, period = text.partition("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


def react_call(ref: MomentRef, user_id: int, kind: str) -> tuple[list[str], list[str | int]]:
    """The keys and arguments of one reaction's script (the sync and asyncio paths share
    them)."""
    built, counts_key, users_key = _keys(ref.match_id)
    limit, window = rate()
    record = json.dumps({"e": ref.event_id, "u": user_id, "k": kind, "t": time.time()})
    keys = [built, counts_key, users_key, PENDING_KEY, DIRTY_KEY, f"rx:rl:{user_id}"]
    args: list[str | int] = [str(ref.event_id), f"{ref.event_id}:{user_id}", kind, record]
    args += [MATCH_TTL, ref.dirty, limit, window, *ReactionKind.values]
    return keys, args


_scripts: dict[int, Any] = {}


def react_script(redis: Any) -> Any:
    """The reaction script registered on `redis` (sync or asyncio client): EVALSHA, loaded
    again by redis-py after a Redis restart. One per client; the clients live as long as
    the process (core.redis, the gateway's hub)."""
    found = _scripts.get(id(redis))
    if found is None:
        found = _scripts[id(redis)] = redis.register_script(REACT_SCRIPT)
    return found


def react_answer(ref: MomentRef, kind: str, reply: list[Any]) -> Moment | None:
    """The moment after the script's reply; None when the counts must be built first;
    RateLimited raised for a fan over the limit."""
    if reply[0] == -1:
        return None
    if reply[0] == -2:
        refused = RateLimited(f"at most {rate()[0]} reactions per {rate()[1]} s; slow down")
        refused.retry_after = max(1, int(reply[1])) / 1000
        raise refused
    counts = {k: int(n) for k, n in zip(ReactionKind.values, reply[1], strict=True) if n}
    return Moment(ref.seq, _positive(counts), kind or None)


def reaction_set(*, user_id: int, match: Match, seq: int, kind: str) -> Moment:
    """The fan's reaction to the moment `seq` (`kind` "" takes it back); refused to a fan
    banned from the match's chat room (from PostgreSQL: the socket path reads chat's hot
    sanctions instead, gateway-side). Returns the moment's counts after it."""
    kind = check_kind(kind)
    ref = moment_ref(match.slug, seq)
    if ref.room_id is not None and active_ban(ref.room_id, user_id) is not None:
        raise ReactionError(BANNED, status=403)
    keys, args = react_call(ref, user_id, kind)
    script = react_script(client())
    for _ in range(2):
        moment = react_answer(ref, kind, script(keys=keys, args=args))
        if moment is not None:
            return moment
        counts_build(ref.match_id)
    raise ReactionError(REBUILDING, status=503)


def moments(match: Match, user_id: int | None = None) -> list[Moment]:
    """Every moment of the match with its counts (and the fan's own reaction)."""
    events = list(
        MatchEvent.objects.filter(match=match, kind__in=MOMENT_KINDS).values_list("pk", "seq")
    )
    built, counts_key, users_key = _keys(match.pk)
    redis = client()
    if not redis.exists(built):
        counts_build(match.pk)
    counts = _pairs(redis.hgetall(counts_key))
    mine: list[Any] = [None] * len(events)
    if user_id and events:
        mine = redis.hmget(users_key, [f"{pk}:{user_id}" for pk, _ in events])
    return [
        Moment(seq, _counts_of(counts, pk), _text(choice))
        for (pk, seq), choice in zip(events, mine, strict=True)
    ]


def counts_build(match_id: int) -> None:
    """The match's counts and the fans' choices, rebuilt in Redis from PostgreSQL (records
    still queued are in PostgreSQL's future, not its past: see the module's docstring).
    One builder at a time; the others wait for its flag."""
    built, counts_key, users_key = _keys(match_id)
    redis = client()
    lock = f"rx:{{{match_id}}}:lock"
    if not redis.set(lock, 1, nx=True, ex=30):
        deadline = time.monotonic() + REBUILD_WAIT_SECONDS
        while time.monotonic() < deadline and not redis.exists(built):
            time.sleep(0.05)
        return
    try:
        rows = Reaction.objects.filter(event__match_id=match_id).values_list(
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
        logger.info("reaction counts built match=%s reactions=%s", match_id, len(users))
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


def reactions_publish() -> int:
    """The `rx` frames of the moments whose counts changed (`rx:dirty`), one per moment
    with its whole counts, so the newest always says everything (newest-wins on a slow
    socket, docs/protocol.md). At most one run per FRAME_INTERVAL_MS; returns the frames
    published."""
    redis = client()
    if not redis.set(FRAMES_LOCK_KEY, 1, nx=True, px=FRAME_INTERVAL_MS):
        return 0
    members = [_text(m) or "" for m in redis.spop(DIRTY_KEY, FRAMES_BATCH) or []]
    refs = [_dirty_ref(m) for m in members]
    if not refs:
        return 0
    pipe = redis.pipeline(transaction=False)
    for ref in refs:
        pipe.hmget(_keys(ref.match_id)[1], [f"{ref.event_id}:{k}" for k in ReactionKind.values])
    frames = []
    for ref, found in zip(refs, pipe.execute(), strict=True):
        counts = {k: int(n) for k, n in zip(ReactionKind.values, found, strict=True) if n}
        frames.append(reactions_frame(ref.slug, ref.seq, _positive(counts)))
    publish_now(*frames)
    return len(frames)


def _dirty_ref(member: str) -> MomentRef:
    match_id, event_id, seq, slug = member.split(":", 3)
    return MomentRef(int(match_id), slug, int(event_id), int(seq), None)


def _positive(counts: dict[str, int]) -> dict[str, int]:
    return {k: n for k, n in sorted(counts.items()) if n > 0}


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
