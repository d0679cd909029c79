"""Exactly-once settlement of predictions, in chunks of users (ARCHITECTURE decision 8).

A match's result version grows at full time and at each later correction (or void). For each
version one SettlementRun splits the match's predictors into user-id ranges. A chunk is one
transaction and one SQL statement: it scores only the predictions of its range whose
`settled_version` is older, writes their points, and moves each fan's total by exactly the
difference (new points minus old) in the same transaction. A retried, duplicated or late
chunk finds nothing older to score and changes nothing. Chunking by user lets a chunk sum
a fan's points before touching Redis, and keeps one fan's rows in one transaction.

After the commit the chunk writes absolute, versioned values to the leaderboards; a crash in
between leaves the chunk `scored`, and the reconciler finishes it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from core.metrics import SETTLEMENT_CHUNK, SETTLEMENT_LAG, SETTLEMENT_RUNS
from matches.models import Match
from matches.selectors import match_share_locked
from predictions import leaderboard, scoring
from predictions.models import LeagueMember, Prediction, SettlementChunk, SettlementRun

logger = logging.getLogger("livescore.settlement")

STALE_AFTER = dt.timedelta(seconds=60)  # a chunk untouched this long is presumed lost

State = SettlementChunk.State


@dataclass(frozen=True)
class ChunkOutcome:
    rows: int  # predictions scored now (0 when another attempt already did)
    finished_run: int | None  # the run's id when this chunk completed it


def settlement_begin(*, match_id: int) -> tuple[SettlementRun | None, list[int]]:
    """Create the run for the match's current result version (once); returns it and the ids
    of its chunks still pending."""
    match = Match.objects.get(pk=match_id)
    if match.result_version == 0:
        return None, []
    with transaction.atomic():
        run, created = SettlementRun.objects.get_or_create(
            match=match,
            result_version=match.result_version,
            defaults={"void": match.status in scoring.VOID_STATUSES, "bonuses": bonuses(match)},
        )
        if created:
            _create_chunks(run)
    pending = run.chunks.exclude(state=State.DONE).values_list("id", flat=True)
    return run, list(pending)


def bonuses(match: Match) -> dict[str, int]:
    """The rarity bonus per kind at the match's current result, from the whole match's
    counters (right picks and all picks of each kind)."""
    rules = scoring.rules_for(match)
    result = scoring.match_result(match, rules)
    if not rules.rarity_bonus or result.void:
        return {}
    hit, params = scoring.hit_sql(result)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT p.kind, count(*) FILTER (WHERE {hit}), count(*)
                FROM predictions_prediction p WHERE p.match_id = %s GROUP BY p.kind""",
            [*params, match.pk],
        )
        counts = {kind: (right, total) for kind, right, total in cursor.fetchall()}
    return scoring.rarity_bonuses(counts, rules)


# The prediction row `p` with its fan's joker on the match, if any, as `j`.
JOKER_JOIN = (
    """LEFT JOIN predictions_joker j ON j.match_id = p.match_id AND j.user_id = p.user_id"""
)
JOKER_PLAYED = "j.id IS NOT NULL"


def points_now(match: Match) -> dict[int, int]:
    """Each fan's points on the match if it ended in its current state, by the settlement
    statement's own expression (for checks: tests, benchmarks)."""
    rules = scoring.rules_for(match)
    result = scoring.match_result(match, rules)
    points, params = scoring.points_sql(result, rules, bonus=bonuses(match), joker=JOKER_PLAYED)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT p.user_id, SUM({points}) FROM predictions_prediction p {JOKER_JOIN}
                WHERE p.match_id = %s GROUP BY p.user_id""",
            [*params, match.pk],
        )
        return dict(cursor.fetchall())


def _create_chunks(run: SettlementRun) -> None:
    users = list(
        Prediction.objects.filter(match_id=run.match_id)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
    size = settings.SETTLEMENT_CHUNK_USERS  # fans per chunk, about four predictions each
    bounds = [(users[i], users[min(i + size, len(users)) - 1]) for i in range(0, len(users), size)]
    SettlementChunk.objects.bulk_create(
        SettlementChunk(run=run, user_from=lo, user_to=hi) for lo, hi in bounds
    )
    run.chunks_total = len(bounds)
    if not bounds:
        run.finished_at = timezone.now()
    run.save(update_fields=["chunks_total", "finished_at"])


# Scores the chunk's older predictions and writes only those whose points, exact flag or
# status change: a prediction whose points stay the same has a difference of 0, so leaving
# it at the older version keeps settlement exactly-once (scoring it again adds 0) while a
# correction rewrites only the rows it affects. Moves each fan's total and exact scores by
# the difference, and returns per fan: new total, its version, new exact scores, points and
# exact scores on this match, predictions written.
_SETTLE_SQL = """
WITH scored AS (
    SELECT p.id, p.user_id, p.points AS old_points, p.exact AS old_exact, p.status,
           {points} AS new_points, {exact} AS new_exact
    FROM predictions_prediction p {joker}
    WHERE p.match_id = %s AND p.user_id BETWEEN %s AND %s AND p.settled_version < %s
), updated AS (
    UPDATE predictions_prediction p
    SET points = s.new_points, exact = s.new_exact, settled_version = %s, status = %s
    FROM scored s
    WHERE p.id = s.id
      AND (s.new_points <> s.old_points OR s.new_exact <> s.old_exact OR s.status <> %s)
    RETURNING p.user_id, s.new_points - s.old_points AS delta,
              s.new_exact::int - s.old_exact::int AS exact_delta
), per_user AS (
    SELECT user_id, SUM(delta) AS delta, SUM(exact_delta) AS exact_delta, count(*) AS n
    FROM updated GROUP BY user_id
), match_points AS (
    SELECT user_id, SUM(new_points) AS points, count(*) FILTER (WHERE new_exact) AS exacts
    FROM scored GROUP BY user_id
), totals AS (
    -- In user order, so two matches settling the same fans at once lock rows in one order.
    INSERT INTO predictions_userscore (user_id, points, exacts, version)
    SELECT user_id, delta, exact_delta, 1 FROM per_user ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE
    SET points = predictions_userscore.points + EXCLUDED.points,
        exacts = predictions_userscore.exacts + EXCLUDED.exacts,
        version = predictions_userscore.version + 1
    RETURNING user_id, points, exacts, version
)
SELECT t.user_id, t.points, t.exacts, t.version, m.points, m.exacts, u.n
FROM totals t JOIN per_user u USING (user_id) JOIN match_points m USING (user_id)
"""


@dataclass
class _Scored:
    rows: int = 0
    totals: list[tuple[int, int, int, int]] | None = None  # (user, total, exacts, version)
    match_points: list[tuple[int, int, int]] | None = None  # (user, points, exacts) on it


def settlement_chunk(*, chunk_id: int) -> ChunkOutcome:
    """Settle one chunk (idempotent: any number of attempts, in any order)."""
    started = time.perf_counter()
    scored = _Scored()
    with transaction.atomic():
        # Lock the chunk row only: chunks of one run must not queue behind the run's row.
        chunk = (
            SettlementChunk.objects.select_for_update(of=("self",))
            .select_related("run", "run__match")
            .get(pk=chunk_id)
        )
        if chunk.state == State.DONE:
            return ChunkOutcome(0, None)
        if chunk.state == State.PENDING:
            # Safe without waiting for the WAL flush: the chunk's state commits with its
            # scores, so a commit lost in a crash leaves the chunk pending and the reconciler
            # scores it again, to the same values and versions (and WAL is linear: any later
            # durable commit implies this one survived).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
                # The statement sorts a chunk's rows by id for its update: in memory, not
                # in a temporary file (the default 4 MB spilled 3 MB to disk per chunk).
                cursor.execute("SET LOCAL work_mem = '32MB'")
            scored = _score(chunk)
            chunk.state, chunk.rows = State.SCORED, scored.rows
            chunk.attempts = F("attempts") + 1
            chunk.save(update_fields=["state", "rows", "attempts", "updated_at"])
    committed = time.perf_counter()
    _publish(chunk, scored)
    published = time.perf_counter()
    outcome = ChunkOutcome(scored.rows, chunk.run_id if _finish(chunk) else None)
    if scored.rows or outcome.finished_run:
        SETTLEMENT_CHUNK.observe(published - started)
    if outcome.finished_run is not None:
        SETTLEMENT_RUNS.inc()
        SETTLEMENT_LAG.observe((timezone.now() - chunk.run.created_at).total_seconds())
    logger.info(
        "settlement chunk=%s match=%s v=%s rows=%s score_ms=%.0f boards_ms=%.0f",
        chunk.pk,
        chunk.run.match.slug,
        chunk.run.result_version,
        scored.rows,
        (committed - started) * 1000,
        (published - committed) * 1000,
    )
    return outcome


def _score(chunk: SettlementChunk) -> _Scored:
    """Score the chunk in one statement. Holds the match row FOR SHARE: a correction takes it
    FOR UPDATE, so it waits for chunks in flight, and chunks of two result versions never
    score the same rows at once (which is what makes the plain read of old points safe)."""
    run = chunk.run
    match = match_share_locked(run.match_id)
    if match.result_version != run.result_version:
        return _Scored(totals=[], match_points=[])  # a newer result: its run scores these
    rules = scoring.rules_for(match)
    result = scoring.match_result(match, rules)
    points, params = scoring.points_sql(result, rules, bonus=run.bonuses, joker=JOKER_PLAYED)
    exact, exact_params = scoring.exact_sql(result)
    status = Prediction.Status.VOID if result.void else Prediction.Status.SETTLED
    args = [*params, *exact_params, match.pk, chunk.user_from, chunk.user_to]
    sql = _SETTLE_SQL.format(points=points, exact=exact, joker=JOKER_JOIN)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*args, run.result_version, run.result_version, status, status])
        rows = cursor.fetchall()
    return _Scored(
        rows=sum(row[-1] for row in rows),
        totals=[(user, total, exacts, version) for user, total, exacts, version, *_ in rows],
        match_points=[(user, points, exacts) for user, _, _, _, points, exacts, _ in rows],
    )


def _reread(chunk: SettlementChunk) -> _Scored:
    """The chunk's committed values from the database (a retry after a crash between the
    commit and the board writes)."""
    match, users = chunk.run.match, (chunk.user_from, chunk.user_to)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT s.user_id, s.points, s.exacts, s.version FROM predictions_userscore s
               WHERE s.user_id BETWEEN %s AND %s
                 AND EXISTS (SELECT 1 FROM predictions_prediction p
                             WHERE p.match_id = %s AND p.user_id = s.user_id)""",
            [*users, match.pk],
        )
        totals = cursor.fetchall()
        cursor.execute(
            """SELECT user_id, SUM(points), count(*) FILTER (WHERE exact)
               FROM predictions_prediction
               WHERE match_id = %s AND user_id BETWEEN %s AND %s GROUP BY user_id""",
            [match.pk, *users],
        )
        return _Scored(totals=totals, match_points=cursor.fetchall())


def _publish(chunk: SettlementChunk, scored: _Scored) -> None:
    """Write the chunk's fans' committed values to every board they are on."""
    if scored.totals is None:
        scored = _reread(chunk)
    match, version = chunk.run.match, chunk.run.result_version
    boards: dict[str, list[leaderboard.Row]] = {
        leaderboard.GLOBAL: scored.totals or [],
        leaderboard.match_scope(match.slug): [
            (u, p, e, version) for u, p, e in scored.match_points or []
        ],
    }
    by_user = {u: (p, e, v) for u, p, e, v in scored.totals or []}
    memberships = LeagueMember.objects.filter(
        user_id__gte=chunk.user_from, user_id__lte=chunk.user_to
    ).values_list("league_id", "user_id")
    for league_id, user_id in memberships:
        if user_id in by_user:
            scope = leaderboard.league_scope(league_id)
            boards.setdefault(scope, []).append((user_id, *by_user[user_id]))
    leaderboard.write_many(boards)


def _finish(chunk: SettlementChunk) -> bool:
    """Mark the chunk done and count it once; True when it completed its run."""
    with transaction.atomic():
        marked = SettlementChunk.objects.filter(pk=chunk.pk, state=State.SCORED).update(
            state=State.DONE, updated_at=timezone.now()
        )
        if not marked:
            return False
        SettlementRun.objects.filter(pk=chunk.run_id).update(chunks_done=F("chunks_done") + 1)
        finished = SettlementRun.objects.filter(
            pk=chunk.run_id, chunks_done=F("chunks_total"), finished_at__isnull=True
        ).update(finished_at=timezone.now())
    return bool(finished)


def settlement_stale_chunks(older_than: dt.timedelta = STALE_AFTER) -> list[int]:
    """Chunks whose task was lost (worker killed, broker restarted): to be queued again."""
    cutoff = timezone.now() - older_than
    stale = SettlementChunk.objects.filter(state__in=[State.PENDING, State.SCORED])
    return list(stale.filter(updated_at__lt=cutoff).values_list("id", flat=True))


def settlement_unstarted_matches() -> list[int]:
    """Matches whose current result version has no run yet (the start task was lost)."""
    runs = SettlementRun.objects.filter(
        match_id=OuterRef("pk"), result_version=OuterRef("result_version")
    )
    unstarted = Match.objects.filter(result_version__gt=0).filter(~Exists(runs))
    return list(unstarted.values_list("id", flat=True))
