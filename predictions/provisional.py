"""Provisional ("if it ended now") standings while matches are live (docs/scoring.md).

A prediction's points depend only on its kind, its value and the match's state, and a match
has few distinct values (a few dozen scores, three outcomes, a few dozen scorers, four
bands). So nothing rescores a million rows per goal:

- At kick-off (the first computation) the match's predictions are read once and kept in
  Redis as a compact table (`prov:picks:<match>`): the distinct picks ("classes"), and per
  prediction its fan's index and its class. Predictions are locked from kick-off on, so the
  table never changes while the match is live.
- After each change of the result (goal, disallowed goal, correction, possession, shootout)
  the points of each class come from `scoring.points_for` (the rule settlement's SQL
  implements), and each fan's points are one vectorised sum over the table.
- The provisional boards are then rewritten whole, each swapped in at once (`RENAME`):
  `lbp:match:<slug>` and `lbp:global` (settled totals plus every live match's provisional
  points). League boards are computed at read time from `lbp:global` (500 members at most).
- Fans of a live match whose provisional global rank or points moved get one `prov` frame
  on `user:<id>`; the leaderboard channels get the provisional top.

One computation runs at a time (a Redis lock). A match whose state changes while one runs
is marked dirty; the holder recomputes before it lets go, so a burst of goals costs one
computation per pass, never one per goal, and the last state always wins. When a match's
settlement completes its provisional board goes and `lbp:global` is recomputed without it;
with no match provisional any more, the provisional boards are gone and readers see the
settled ones.

The module holds one pass from reading to publishing (about 450 lines): the picks table is
predictions/picks.py and the boards' keys and writes predictions/leaderboard.py; what is
left is the pass itself, its standings and their `prov` frames, kept together because each
step hands the next numpy arrays rather than objects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import TypedDict, cast

import numpy as np
import redis
from django.db import connection

from core.metrics import PROVISIONAL_SECONDS
from core.redis import board_client as client
from matches.models import Match, MatchStatus
from predictions import leaderboard, picks, scoring
from predictions.models import SettlementRun
from realtime.channels import leaderboard_channel, user_channel
from realtime.frames import leaderboard_frame
from realtime.publish import publish_now, publish_packed

logger = logging.getLogger("livescore.provisional")

MATCHES_KEY = "prov:matches"  # hash: match id -> slug, the matches counted in lbp:global
DIRTY_KEY = "prov:dirty"  # set of match ids whose state changed since their last computation
LOCK_KEY = "prov:lock"
RANKS_KEY = "prov:ranks"  # hash: users, ranks, points of the last lbp:global (numpy bytes)
STATUS_KEY = "prov:status"  # hash: passes, finished_at, seconds, frames of the last pass
LOCK_SECONDS = 60  # a holder that died lets go after this long; the next change resumes
TOP_IN_FRAME = 10
PROVISIONAL_STATUSES = frozenset(
    {
        MatchStatus.FIRST_HALF,
        MatchStatus.HALF_TIME,
        MatchStatus.SECOND_HALF,
        MatchStatus.EXTRA_TIME,
        MatchStatus.PENALTIES,
        MatchStatus.FINISHED,  # until its settlement completes
    }
)

# The prediction columns that make a pick, and whether its fan's joker is on the match: one
# class per distinct combination.


def _points_key(match_id: int) -> str:
    return f"prov:pts:{match_id}"


# ---- points --------------------------------------------------------------------------------


def match_points(match: Match) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fans, their provisional points, their right exact scores) if `match` ended in its
    current state."""
    rules = scoring.rules_for(match)
    result = scoring.match_result(match, rules)
    table = picks.picks_for(match.pk)
    points = picks.per_fan(table, picks.class_points(table, result, rules))
    return table.users, points, picks.per_fan(table, picks.class_exacts(table, result))


# ---- one pass ------------------------------------------------------------------------------


@dataclass
class _Live:
    slug: str
    finished: bool
    users: np.ndarray
    points: np.ndarray
    exacts: np.ndarray


def counts_now(match: Match) -> bool:
    """Whether the match's provisional points belong in the standings: live, or finished
    and its current result not settled yet."""
    if match.status not in PROVISIONAL_STATUSES:
        return False
    if match.status != MatchStatus.FINISHED:
        return True
    done = SettlementRun.objects.filter(
        match=match, result_version=match.result_version, finished_at__isnull=False
    )
    return not done.exists()


def _ranks(users: np.ndarray, points: np.ndarray, exacts: np.ndarray) -> np.ndarray:
    """1-based positions: more points first, then more exact scores, then the lower user id
    (the leaderboards' tie-breaks)."""
    order = np.lexsort((users, -exacts, -points))
    ranks = np.empty(len(users), dtype=np.int32)
    ranks[order] = np.arange(1, len(users) + 1, dtype=np.int32)
    return ranks


def _of(live: _Live) -> Tally:
    return live.users, live.points, live.exacts


def _store_points(pipe: redis.client.Pipeline, match_id: int, live: _Live) -> None:
    key = _points_key(match_id)
    mapping: dict[str | bytes, bytes | str | int] = {
        "users": live.users.tobytes(),
        "points": live.points.tobytes(),
        "exacts": live.exacts.tobytes(),
        "slug": live.slug,
        "finished": int(live.finished),
    }
    pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]  # its Mapping key is invariant
    pipe.expire(key, picks.PICKS_TTL)


def _stored_points(match_ids: Iterable[int]) -> dict[int, _Live]:
    pipe = client().pipeline(transaction=False)
    ids = list(match_ids)
    for match_id in ids:
        pipe.hmget(_points_key(match_id), ["slug", "finished", "users", "points", "exacts"])
    out: dict[int, _Live] = {}
    for match_id, (slug, finished, *arrays) in zip(ids, pipe.execute(), strict=True):
        if None not in arrays:
            users, points, exacts = (np.frombuffer(a, dtype=np.int64) for a in arrays)
            out[match_id] = _Live(slug.decode(), finished == b"1", users, points, exacts)
    return out


Tally = tuple[np.ndarray, np.ndarray, np.ndarray]  # users (sorted), points, exact scores


def _settled(finished: list[int]) -> Tally:
    """Settled totals and exact scores (user order), less anything already settled on a
    provisional match whose settlement is under way, read in one snapshot: its points are
    counted once, by the provisional layer, until its run completes."""
    sql = "SELECT user_id, points, exacts FROM predictions_userscore ORDER BY user_id"
    params: list = []
    if finished:
        sql = """SELECT s.user_id, s.points - COALESCE(m.points, 0),
                        s.exacts - COALESCE(m.exacts, 0)
                 FROM predictions_userscore s LEFT JOIN (
                     SELECT user_id, SUM(points) AS points, count(*) FILTER (WHERE exact)
                            AS exacts
                     FROM predictions_prediction
                     WHERE match_id = ANY(%s) AND settled_version > 0 GROUP BY user_id
                 ) m USING (user_id) ORDER BY s.user_id"""
        params = [finished]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    table = np.array(rows, dtype=np.int64)
    return table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy()


def _combine(settled: Tally, live: dict[int, _Live]) -> Tally:
    """Every fan's provisional total and exact scores: settled plus each live match's."""
    users = settled[0]
    for item in live.values():
        users = np.union1d(users, item.users)
    totals = np.zeros(len(users), dtype=np.int64)
    exacts = np.zeros(len(users), dtype=np.int64)
    where = np.searchsorted(users, settled[0])
    totals[where] += settled[1]
    exacts[where] += settled[2]
    for item in live.values():
        where = np.searchsorted(users, item.users)
        np.add.at(totals, where, item.points)
        np.add.at(exacts, where, item.exacts)
    return users, totals, exacts


@dataclass
class _Standing:
    users: np.ndarray
    ranks: np.ndarray
    totals: np.ndarray

    def at(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ranks, totals) of `users` (0 rank: not on the board)."""
        if not len(self.users):
            zeros = np.zeros(len(users), dtype=np.int64)
            return zeros, zeros
        where = np.clip(np.searchsorted(self.users, users), 0, len(self.users) - 1)
        found = self.users[where] == users
        return np.where(found, self.ranks[where], 0), np.where(found, self.totals[where], 0)


def _previous(settled: Tally) -> _Standing:
    """The standing the last pass published, or the settled one when this is the first."""
    stored = client().hmget(RANKS_KEY, ["users", "ranks", "totals"])
    users, ranks, totals = cast(list[bytes | None], stored)
    if users is None or ranks is None or totals is None:
        return _Standing(settled[0], _ranks(*settled), settled[1])
    return _Standing(
        np.frombuffer(users, dtype=np.int64),
        np.frombuffer(ranks, dtype=np.int32),
        np.frombuffer(totals, dtype=np.int64),
    )


class Standing(TypedDict):
    """`prov` on user:<id> (docs/protocol.md): a fan's provisional points from match `m`,
    provisional total and global rank, and how many places the rank moved (`mv`, up > 0).
    `_personal_frames` writes this shape by hand, for speed."""

    m: str
    pts: int
    tot: int
    rank: int
    mv: int


def _personal_frames(
    slug: str, live: _Live, now: _Standing, before: _Standing
) -> list[tuple[str, str]]:
    """(channel, text) of the `prov` frames for the match's fans whose provisional points or
    rank moved. Encoded by hand: a goal can move 250,000 fans, and the payload is numbers
    and a slug."""
    ranks, totals = now.at(live.users)
    old_ranks, old_totals = before.at(live.users)
    moved = np.nonzero((ranks != old_ranks) | (totals != old_totals))[0]
    was = np.where(old_ranks[moved] > 0, old_ranks[moved], ranks[moved])
    rows = zip(
        live.users[moved].tolist(),
        live.points[moved].tolist(),
        totals[moved].tolist(),
        ranks[moved].tolist(),
        (was - ranks[moved]).tolist(),
        strict=True,
    )
    channel = user_channel(0)[:-1]  # "user:", built once
    return [
        (
            f"{channel}{user}",
            f'{{"ch":"{channel}{user}","t":"prov","d":{{"m":"{slug}","pts":{points},'
            f'"tot":{total},"rank":{rank},"mv":{moved_by}}}}}',
        )
        for user, points, total, rank, moved_by in rows
    ]


def _top_frames(scopes: list[str]) -> None:
    for scope in scopes:
        rows = leaderboard.scored(
            client().zrevrange(
                leaderboard.provisional_key(scope), 0, TOP_IN_FRAME - 1, withscores=True
            )
        )
        top = [[int(m), leaderboard.decode(s)] for m, s in rows]
        publish_now(leaderboard_frame(leaderboard_channel(scope), {"top": top, "prov": 1}))


def _drop(pipe: redis.client.Pipeline, match_id: int, slug: str | None) -> None:
    if slug:
        pipe.delete(leaderboard.provisional_key(leaderboard.match_scope(slug)))
    pipe.delete(_points_key(match_id), picks.picks_key(match_id))
    pipe.hdel(MATCHES_KEY, match_id)


def _refresh(match_ids: set[int]) -> dict[int, _Live]:
    """Recompute the changed matches' provisional points and boards; drop the matches that
    no longer count. Returns the recomputed ones."""
    stored = cast(dict[bytes, bytes], client().hgetall(MATCHES_KEY))
    known = {int(k): v.decode() for k, v in stored.items()}
    matches = {m.pk: m for m in Match.objects.filter(pk__in=match_ids)}
    changed: dict[int, _Live] = {}
    pipe = client().pipeline(transaction=False)
    for match_id in match_ids:
        match = matches.get(match_id)
        if match is None or not counts_now(match):
            _drop(pipe, match_id, match.slug if match else known.get(match_id))
            continue
        users, points, exacts = match_points(match)
        live = _Live(match.slug, match.status == MatchStatus.FINISHED, users, points, exacts)
        _store_points(pipe, match_id, live)
        pipe.hset(MATCHES_KEY, match_id, match.slug)
        leaderboard.provisional_replace(pipe, leaderboard.match_scope(match.slug), *_of(live))
        changed[match_id] = live
    leaderboard.bump(pipe)
    pipe.execute()
    return changed


def _pass(match_ids: set[int]) -> None:
    started = time.perf_counter()
    changed = _refresh(match_ids)
    ids = {int(k) for k in client().hkeys(MATCHES_KEY)}
    live = {**_stored_points(ids - changed.keys()), **changed}
    if not live:
        pipe = client().pipeline(transaction=False)
        pipe.delete(leaderboard.provisional_key(leaderboard.GLOBAL), RANKS_KEY)
        leaderboard.bump(pipe)
        pipe.execute()
        return
    settled = _settled([i for i, item in live.items() if item.finished])
    before = _previous(settled)
    users, totals, exacts = _combine(settled, live)
    now = _Standing(users, _ranks(users, totals, exacts), totals)
    pipe = client().pipeline(transaction=False)
    leaderboard.provisional_replace(pipe, leaderboard.GLOBAL, users, totals, exacts)
    pipe.hset(
        RANKS_KEY,
        mapping={
            "users": users.tobytes(),
            "ranks": now.ranks.tobytes(),
            "totals": totals.tobytes(),
        },
    )
    leaderboard.bump(pipe)
    pipe.execute()
    boards = time.perf_counter()
    frames = [f for i in changed.values() for f in _personal_frames(i.slug, i, now, before)]
    _top_frames([leaderboard.GLOBAL, *(leaderboard.match_scope(i.slug) for i in changed.values())])
    publish_packed("prov", frames)
    elapsed = time.perf_counter() - started
    PROVISIONAL_SECONDS.observe(elapsed)
    pipe = client().pipeline(transaction=False)
    pipe.hincrby(STATUS_KEY, "passes", 1)
    pipe.hset(
        STATUS_KEY, mapping={"finished_at": time.time(), "seconds": elapsed, "frames": len(frames)}
    )
    pipe.execute()
    logger.info(
        "provisional matches=%s fans=%s frames=%s boards_ms=%.0f total_ms=%.0f",
        sorted(i.slug for i in changed.values()),
        len(users),
        len(frames),
        (boards - started) * 1000,
        (time.perf_counter() - started) * 1000,
    )


# ---- single flight -------------------------------------------------------------------------

# KEYS: lock, dirty set. ARGV: token, seconds. Lets go of the lock unless a match turned
# dirty meanwhile (then the holder keeps it, extended, and does another pass).
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 1 end
if redis.call('SCARD', KEYS[2]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return 0
end
redis.call('DEL', KEYS[1])
return 1
"""


@cache
def _release_script() -> redis.commands.core.Script:
    return client().register_script(_RELEASE)


def _take_dirty() -> set[int]:
    pipe = client().pipeline(transaction=True)
    pipe.smembers(DIRTY_KEY)
    pipe.delete(DIRTY_KEY)
    members, _ = pipe.execute()
    return {int(m) for m in members}


def provisional_changed(match_id: int) -> int:
    """The match's state changed (or its settlement completed): bring the provisional
    standings up to date. Returns the passes this call ran (0: another holder will)."""
    r = client()
    r.sadd(DIRTY_KEY, match_id)
    token = str(time.time_ns())
    if not r.set(LOCK_KEY, token, nx=True, ex=LOCK_SECONDS):
        return 0
    passes = 0
    while True:
        dirty = _take_dirty()
        if dirty:
            try:
                _pass(dirty)
            except BaseException:
                # Nothing is lost: the matches are dirty again and the lock is free, so the
                # retry (or the next change) recomputes them.
                r.sadd(DIRTY_KEY, *dirty)
                _release_script()(keys=[LOCK_KEY, "prov:none"], args=[token, LOCK_SECONDS])
                raise
            passes += 1
        if _release_script()(keys=[LOCK_KEY, DIRTY_KEY], args=[token, LOCK_SECONDS]):
            return passes


# ---- reads ---------------------------------------------------------------------------------

View = tuple[list[leaderboard.Entry], int, leaderboard.Entry | None, list[leaderboard.Entry]]


def view(
    scope: str, n: int, user_id: int | None, members: Callable[[], list[int]] | None = None
) -> View | None:
    """The provisional board of `scope` (as `leaderboard.view`), or None while no match
    counts provisionally. A league's is ranked here from its members' provisional totals."""
    if members is not None:
        return _league_view(members, n, user_id)
    key = leaderboard.provisional_key(scope)
    try:
        return leaderboard.read(key, n, user_id, require=key)
    except leaderboard.BoardsLost:
        return None


def _league_view(
    members_of: Callable[[], list[int]], n: int, user_id: int | None, radius: int = 5
) -> View | None:
    key = leaderboard.provisional_key(leaderboard.GLOBAL)
    if not client().exists(key):
        return None
    members = members_of()
    # redis-py encodes int members as it does str ones; its annotation names only str.
    stored = client().zmscore(key, members) if members else []  # type: ignore[arg-type]
    # A member on no provisional board has neither settled points nor a live prediction.
    scores = [
        leaderboard.encode(0, 0, m) if s is None else s
        for m, s in zip(members, stored, strict=True)
    ]
    entries = leaderboard.rank_entries(zip(members, scores, strict=True))
    mine = next((e for e in entries if e.user_id == user_id), None)
    if mine is None:
        return entries[:n], len(entries), None, []
    around = entries[max(0, mine.rank - 1 - radius) : mine.rank + radius]
    return entries[:n], len(entries), mine, around
