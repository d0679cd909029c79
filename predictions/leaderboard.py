"""Leaderboards in Redis sorted sets: the one module that knows their keys and operations,
settled (`lb:`) and provisional (`lbp:`, predictions/provisional.py computes them).

Boards: `global`, `match:<slug>` and `league:<id>`. Members are user ids. Writes are always
absolute values (a fan's current total), never increments, and each carries a version (the
total's version for global and league boards, the match's result version for match boards);
a write older than the stored one is ignored. So replayed, duplicated or reordered writes
leave every board equal to the database, and `rebuild_all` recreates them from it.

Ties (docs/scoring.md): more points first; then more exact scores; then the fan who joined
first (the lower user id). Every fan has a distinct position. The score stored packs all
three exactly into a double's 53 bits: (points * 128 + exact scores) * 2^29 + (2^29 - 1 -
user id), for up to 131,071 points, 127 exact scores and 536 million accounts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

import numpy as np
import redis

from core.errors import TemporarilyUnavailable
from core.redis import board_client as _client

TIE_SPACE = 2**29  # user ids
EXACT_SPACE = 2**7  # exact scores
POINTS_UNIT = EXACT_SPACE * TIE_SPACE
PREFIX = "lb:"
PROVISIONAL_PREFIX = "lbp:"  # provisional boards: settled totals plus live matches' points
# Outside PREFIX on purpose: `drop()` must not delete them. BUILT_KEY exists while the boards
# hold everything PostgreSQL does (rebuild_all sets it); a Redis that lost its data has none,
# and the next read starts one rebuild (REBUILD_LOCK_KEY: one at a time) instead of showing
# empty boards.
# Versioned with the score encoding: boards written in an older encoding are not "built", so
# the first read after an upgrade rebuilds them.
BUILT_KEY = "lbmeta:built:2"
REBUILD_LOCK_KEY = "lbmeta:rebuilding"
REBUILD_LOCK_SECONDS = 120
# A new token after every write to any board, settled or provisional: a page read and kept
# in a process is still right while the generation it was read at is the current one.
GENERATION_KEY = "lbmeta:gen"


class BoardsLost(Exception):
    """The boards are not known to hold everything PostgreSQL does (Redis lost them)."""


class BoardsRebuilding(TemporarilyUnavailable):
    """The boards were lost (a Redis restart or flush) and are being rebuilt."""

    def __init__(self) -> None:
        super().__init__("leaderboards are being rebuilt; retry shortly")


# KEYS: board zset, version hash. ARGV: (member, score, version) triples.
_WRITE = """
local written = 0
for i = 1, #ARGV, 3 do
  local stored = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 2]) >= stored then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
    written = written + 1
  end
end
return written
"""


@dataclass(frozen=True)
class Entry:
    rank: int  # 1 is first
    user_id: int
    points: int
    exacts: int = 0  # exact scores: the first tie-break


GLOBAL = "global"


def match_scope(slug: str) -> str:
    return f"match:{slug}"


def league_scope(league_id: int) -> str:
    return f"league:{league_id}"


def board_key(scope: str) -> str:
    return f"{PREFIX}{scope}"


def provisional_key(scope: str) -> str:
    """The provisional ("if it ended now") board of a scope, beside the settled one
    (predictions/provisional.py writes it whole)."""
    return f"{PROVISIONAL_PREFIX}{scope}"


def _versions_key(scope: str) -> str:
    return f"{PREFIX}v:{scope}"


def encode(points: int, exacts: int, user_id: int) -> int:
    return (points * EXACT_SPACE + min(exacts, EXACT_SPACE - 1)) * TIE_SPACE + (
        TIE_SPACE - 1 - user_id
    )


def decode(score: float) -> int:
    """The points of a stored score."""
    return int(score) // POINTS_UNIT


def decode_exacts(score: float) -> int:
    return int(score) // TIE_SPACE % EXACT_SPACE


# A sorted set read with its scores, as redis-py returns it (bytes members: no
# decode_responses), typed here once; redis-py's own annotations are a union of every reply.
Scored = list[tuple[bytes, float]]


def scored(rows: object) -> Scored:
    return cast(Scored, rows)


def entry(rank: int, member: bytes | str | int, score: float) -> Entry:
    return Entry(rank, int(member), decode(score), decode_exacts(score))


_script = None


Row = tuple[int, int, int, int]  # user id, points, exact scores, version


def write(scope: str, rows: Iterable[Row]) -> None:
    """Set (user_id, points, exacts, version) on a board, unless a newer version is stored."""
    write_many({scope: rows})


def write_many(boards: Mapping[str, Iterable[Row]], batch: int = 5000) -> None:
    """`write` for several boards in one round trip (a chunk touches hundreds of leagues)."""
    global _script
    if _script is None:
        _script = _client().register_script(_WRITE)
    pipe = _client().pipeline(transaction=False)
    for scope, rows in boards.items():
        keys = [board_key(scope), _versions_key(scope)]
        args: list[int] = []
        for user_id, points, exacts, version in rows:
            args += [user_id, encode(points, exacts, user_id), version]
            if len(args) >= batch * 3:
                _script(keys=keys, args=args, client=pipe)
                args = []
        if args:
            _script(keys=keys, args=args, client=pipe)
    bump(pipe)
    pipe.execute()


def bump(pipe: redis.client.Pipeline) -> None:
    """Queue, after a board write in `pipe`, a new generation of the boards: a fresh random
    token, never a counter, so a Redis that lost its data never repeats an old one."""
    pipe.set(GENERATION_KEY, uuid.uuid4().hex)


def generation() -> bytes | None:
    return cast(bytes | None, _client().get(GENERATION_KEY))


def top(scope: str, n: int) -> list[Entry]:
    rows = scored(_client().zrevrange(board_key(scope), 0, n - 1, withscores=True))
    return [entry(i + 1, member, score) for i, (member, score) in enumerate(rows)]


def view(
    scope: str, n: int, user_id: int | None, radius: int = 5
) -> tuple[list[Entry], int, Entry | None, list[Entry]]:
    """Top n, board size, the fan's entry and the entries around it, in two round trips.
    Raises BoardsLost when the boards are not known complete (BUILT_KEY, read in the same
    round trip)."""
    return read(board_key(scope), n, user_id, radius, require=BUILT_KEY)


def read(
    key: str, n: int, user_id: int | None, radius: int = 5, *, require: str
) -> tuple[list[Entry], int, Entry | None, list[Entry]]:
    """`view` of the sorted set at `key`; raises BoardsLost unless `require` exists."""
    pipe = _client().pipeline(transaction=False)
    pipe.exists(require)
    pipe.zrevrange(key, 0, n - 1, withscores=True)
    pipe.zcard(key)
    if user_id is not None:
        pipe.zrevrank(key, user_id)
    built, rows, size, *rank = pipe.execute()
    if not built:
        raise BoardsLost()
    top = [entry(i + 1, m, s) for i, (m, s) in enumerate(scored(rows))]
    if not rank or rank[0] is None:
        return top, size, None, []
    start = max(0, rank[0] - radius)
    near = scored(_client().zrevrange(key, start, rank[0] + radius, withscores=True))
    around = [entry(start + i + 1, m, s) for i, (m, s) in enumerate(near)]
    mine = next(e for e in around if e.user_id == user_id)
    return top, size, mine, around


def rank_entries(scores: Iterable[tuple[int, float]]) -> list[Entry]:
    """(user id, stored score) pairs as board entries, in board order."""
    ordered = sorted(scores, key=lambda r: -r[1])
    return [entry(i + 1, user_id, score) for i, (user_id, score) in enumerate(ordered)]


def ranks(scope: str, user_ids: list[int]) -> list[int | None]:
    pipe = _client().pipeline(transaction=False)
    for user_id in user_ids:
        pipe.zrevrank(board_key(scope), user_id)
    return [None if r is None else r + 1 for r in pipe.execute()]


def size(scope: str) -> int:
    return _client().zcard(board_key(scope))


def all_points(scope: str) -> dict[int, int]:
    """Every member's points (for checks against the database)."""
    rows = scored(_client().zrange(board_key(scope), 0, -1, withscores=True))
    return {int(member): decode(score) for member, score in rows}


def all_scores(scope: str) -> dict[int, tuple[int, int]]:
    """Every member's (points, exact scores)."""
    rows = scored(_client().zrange(board_key(scope), 0, -1, withscores=True))
    return {int(m): (decode(s), decode_exacts(s)) for m, s in rows}


def drop(scope_pattern: str = "*") -> None:
    client = _client()
    for pattern in (board_key(scope_pattern), _versions_key(scope_pattern)):
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    client.set(GENERATION_KEY, uuid.uuid4().hex)


def remove(scope: str, user_id: int) -> None:
    pipe = _client().pipeline(transaction=True)
    pipe.zrem(board_key(scope), user_id)
    pipe.hdel(_versions_key(scope), user_id)
    bump(pipe)
    pipe.execute()


def encode_many(users: np.ndarray, points: np.ndarray, exacts: np.ndarray) -> np.ndarray:
    """`encode` over arrays (exact in int64, then in float64 within its
    documented range)."""
    tie, space = TIE_SPACE, EXACT_SPACE
    packed = (points * space + np.minimum(exacts, space - 1)) * tie + (tie - 1 - users)
    return packed.astype(np.float64)


def provisional_replace(
    pipe: redis.client.Pipeline,
    scope: str,
    users: np.ndarray,
    points: np.ndarray,
    exacts: np.ndarray,
) -> None:
    """Queue the whole board under a new key, swapped in by RENAME: readers see the old or
    the new board, never half of one."""
    key = provisional_key(scope)
    new = f"{key}:new"
    pipe.delete(new)
    scores = encode_many(users, points, exacts)
    for start in range(0, len(users), 10_000):
        part = slice(start, start + 10_000)
        pipe.zadd(new, dict(zip(users[part].tolist(), scores[part].tolist(), strict=True)))
    if len(users):
        pipe.rename(new, key)
    else:
        pipe.delete(key)


def claim_rebuild() -> bool:
    """True for the one caller that should start a rebuild (others see it running)."""
    return bool(_client().set(REBUILD_LOCK_KEY, 1, nx=True, ex=REBUILD_LOCK_SECONDS))


def mark_built() -> None:
    pipe = _client().pipeline(transaction=True)
    pipe.set(BUILT_KEY, 1)
    pipe.delete(REBUILD_LOCK_KEY)
    pipe.execute()


def rebuild_all() -> dict[str, int]:
    """Recreate every board from PostgreSQL (after a Redis loss, or to repair a crash between
    a chunk's commit and its board writes). Returns members written per kind of board.

    Safe beside settlement: board writes are versioned, so a chunk's newer totals written
    during the rebuild are never overwritten by the rebuild's older ones."""
    from django.db import connection

    from predictions.models import LeagueMember, UserScore

    drop()
    scores = UserScore.objects.values_list("user_id", "points", "exacts", "version")
    totals = {u: (p, e, v) for u, p, e, v in scores}
    write(GLOBAL, [(u, p, e, v) for u, (p, e, v) in totals.items()])
    counts = {"global": len(totals), "match": 0, "league": 0}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT m.slug, m.result_version, p.user_id, SUM(p.points), count(*) FILTER
               (WHERE p.exact) FROM predictions_prediction p
               JOIN matches_match m ON m.id = p.match_id
               WHERE p.settled_version > 0 GROUP BY m.slug, m.result_version, p.user_id
               ORDER BY m.slug"""
        )
        boards: dict[str, list[Row]] = {}
        for slug, version, user_id, points, exacts in cursor.fetchall():
            boards.setdefault(match_scope(slug), []).append((user_id, points, exacts, version))
    for scope, rows in boards.items():
        write(scope, rows)
        counts["match"] += len(rows)
    leagues: dict[str, list[Row]] = {}
    for league_id, user_id in LeagueMember.objects.values_list("league_id", "user_id"):
        points, exacts, version = totals.get(user_id, (0, 0, 0))
        leagues.setdefault(league_scope(league_id), []).append((user_id, points, exacts, version))
    for scope, rows in leagues.items():
        write(scope, rows)
        counts["league"] += len(rows)
    mark_built()
    return counts


def check_all() -> list[str]:
    """Differences between the boards and a recomputation from the predictions themselves
    (match predictions and outrights; empty when consistent). Used by tests and the
    settlement benchmark."""
    from django.db import connection

    problems: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT user_id, SUM(points), SUM(exacts) FROM (
                   SELECT user_id, points, exact::int AS exacts FROM predictions_prediction
                   WHERE settled_version > 0
                   UNION ALL
                   SELECT user_id, points, 0 FROM predictions_outright WHERE points <> 0
               ) scored GROUP BY user_id"""
        )
        recomputed = {u: (p, e) for u, p, e in cursor.fetchall()}
        cursor.execute("SELECT user_id, points, exacts FROM predictions_userscore")
        stored = {u: (p, e) for u, p, e in cursor.fetchall()}
    if {u: s for u, s in stored.items() if u in recomputed or any(s)} != recomputed:
        problems.append("user totals differ from the sum of their predictions")
    board = all_scores(GLOBAL)
    if board != stored:
        problems.append("global board differs from user totals")
    problems += _check_match_boards()
    problems += _check_league_boards(stored)
    return problems


def _check_match_boards() -> list[str]:
    from django.db import connection

    expected: dict[str, dict[int, tuple[int, int]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT m.slug, p.user_id, SUM(p.points), count(*) FILTER (WHERE p.exact)
               FROM predictions_prediction p JOIN matches_match m ON m.id = p.match_id
               WHERE p.settled_version > 0 GROUP BY m.slug, p.user_id"""
        )
        for slug, user_id, points, exacts in cursor.fetchall():
            expected.setdefault(slug, {})[user_id] = (points, exacts)
    return [
        f"match board {slug} differs"
        for slug, rows in expected.items()
        if all_scores(match_scope(slug)) != rows
    ]


def _check_league_boards(totals: dict[int, tuple[int, int]]) -> list[str]:
    from predictions.models import LeagueMember

    members: dict[int, dict[int, tuple[int, int]]] = {}
    for league_id, user_id in LeagueMember.objects.values_list("league_id", "user_id"):
        members.setdefault(league_id, {})[user_id] = totals.get(user_id, (0, 0))
    return [
        f"league board {league_id} differs"
        for league_id, rows in members.items()
        if all_scores(league_scope(league_id)) != rows
    ]
