"""Settlement benchmark: 1,000,000 predictions of one match over 250,000 fans.

Loads the fans, their predictions (four kinds each), the prediction game (a stage multiplier,
the rarity bonus, a joker for every tenth fan) and leagues of about 20 with COPY, starts
real Celery workers (2 processes) on the settlement queue, plays the match to full time
through the match services and measures full time -> every chunk done and every board
written, then checks every board against a recomputation from the database. Then corrects
the first scorer and measures the re-settlement. The baseline, per-row ORM saves with per-row
Redis updates, is measured in the same run on a slice and extrapolated (and said so).
PostgreSQL's own floor for the same work is measured in the same run on a copy of the same
predictions: one UPDATE writing every row's points, and one INSERT into a narrow table.
Finally it times leaderboard REST reads at 250,000 members.

    bash scripts/bench.sh bench/settlement.py [--fans 250000] [--chunk-users 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")

PLAYERS_PER_TEAM = 23
KINDS = ("score", "winner", "first_scorer", "possession")


def setup_django(chunk_users: int) -> None:
    os.environ["SETTLEMENT_CHUNK_USERS"] = str(chunk_users)
    import django

    django.setup()


def make_match(day: int):
    from django.utils import timezone

    from matches import effects
    from matches.models import Competition, Player, Stage, Team
    from matches.services import match_create

    competition, _ = Competition.objects.get_or_create(
        slug="bench-cup", defaults={"name": "Bench Cup", "season": 2026}
    )
    stage, _ = Stage.objects.get_or_create(
        competition=competition, slug="final", defaults={"name": "Final", "kind": "group"}
    )
    home, _ = Team.objects.get_or_create(code="BEN", defaults={"name": "Benchland"})
    away, _ = Team.objects.get_or_create(code="MAR", defaults={"name": "Markovia"})
    for team in (home, away):
        for n in range(1, PLAYERS_PER_TEAM + 1):
            Player.objects.get_or_create(
                team=team, name=f"{team.code} player {n}", defaults={"number": n}
            )
    with effects.suppressed():
        return match_create(
            competition=competition,
            stage=stage,
            home=home,
            away=away,
            kickoff=timezone.now() + dt.timedelta(days=day),
        )


def copy_rows(sql: str, rows) -> None:
    from django.db import connection

    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
    connection.connection.commit()


def load_fans(fans: int) -> list[int]:
    from django.contrib.auth.models import User
    from django.db import connection

    start = (User.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    now = dt.datetime.now(dt.UTC)
    ids = list(range(start, start + fans))
    copy_rows(
        "COPY auth_user (id, password, is_superuser, username, first_name, last_name, email,"
        " is_staff, is_active, date_joined) FROM STDIN",
        ((i, "!", False, f"fan{i}", "", "", "", False, True, now) for i in ids),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval('auth_user_id_seq', (SELECT max(id) FROM auth_user))")
    return ids


def load_predictions(match, fan_ids: list[int], seed: int = 1) -> int:
    from matches.models import Player

    rng = random.Random(seed)
    players = list(
        Player.objects.filter(team__in=[match.home_id, match.away_id]).values_list("id", flat=True)
    )
    now = dt.datetime.now(dt.UTC)

    def rows():
        for user_id in fan_ids:
            base = (user_id, match.pk, 0, False, 0, "open", now)  # points, exact, version, ...
            yield (*base, "score", rng.randint(0, 4), rng.randint(0, 3), "", None, False, None)
            yield (*base, "winner", None, None, rng.choice("HDA"), None, False, None)
            no_goal = rng.random() < 0.1
            scorer = None if no_goal else rng.choice(players)
            yield (*base, "first_scorer", None, None, "", scorer, no_goal, None)
            yield (*base, "possession", None, None, "", None, False, rng.randint(1, 4))

    copy_rows(
        "COPY predictions_prediction (user_id, match_id, points, exact, settled_version, status,"
        " updated_at, kind, home_goals, away_goals, outcome, player_id, no_goal, band)"
        " FROM STDIN",
        rows(),
    )
    return len(fan_ids) * len(KINDS)


def load_game(match, fan_ids: list[int], share: float = 0.1) -> int:
    """The prediction game on: the final counts twice, a rarity bonus of 5, and a joker on
    the match for every tenth fan. Returns the jokers loaded."""
    from predictions.models import ScoringRules

    ScoringRules.objects.update_or_create(
        competition=match.competition,
        defaults={"rarity_bonus": 5, "stage_multipliers": {match.stage.slug: 2}},
    )
    now = dt.datetime.now(dt.UTC)
    jokers = fan_ids[:: round(1 / share)]
    copy_rows(
        "COPY predictions_joker (user_id, match_id, stage_id, updated_at) FROM STDIN",
        ((user_id, match.pk, match.stage_id, now) for user_id in jokers),
    )
    return len(jokers)


def floor(match) -> dict[str, float]:
    """PostgreSQL's own floor for the same work on a copy of the same predictions: one
    UPDATE writing every row's points (as the first settlement does, with the same
    expression and durability), and the insert-only alternative layout: one INSERT of
    (prediction, version, points) rows into a narrow table."""
    from django.db import connection, transaction

    from predictions import scoring, settlement

    match.refresh_from_db()
    rules = scoring.rules_for(match)
    result = scoring.match_result(match, rules)
    joker = (
        "EXISTS (SELECT 1 FROM predictions_joker j"
        " WHERE j.match_id = p.match_id AND j.user_id = p.user_id)"
    )
    points, params = scoring.points_sql(result, rules, bonus=settlement.bonuses(match), joker=joker)
    out = {}
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) predictions_prediction")
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_scored (prediction_id bigint, version int,"
            " points int, PRIMARY KEY (prediction_id, version))"
        )
    for name, sql in (
        (
            "floor_update_s",
            f"""UPDATE predictions_prediction p SET points = {points}, settled_version = 1,
                status = 'settled' WHERE p.match_id = %s""",
        ),
        (
            "floor_insert_narrow_s",
            f"""INSERT INTO bench_scored SELECT p.id, 1, {points}
                FROM predictions_prediction p WHERE p.match_id = %s""",
        ),
    ):
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [*params, match.pk])
        out[name] = round(time.perf_counter() - started, 2)
    return out


def load_leagues(fan_ids: list[int], size: int = 20) -> int:
    from django.db import connection

    now = dt.datetime.now(dt.UTC)
    groups = [fan_ids[i : i + size] for i in range(0, len(fan_ids), size)]
    copy_rows(
        "COPY predictions_league (name, owner_id, created_at) FROM STDIN",
        ((f"League {n}", group[0], now) for n, group in enumerate(groups)),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM predictions_league ORDER BY id")
        league_ids = [row[0] for row in cursor.fetchall()][-len(groups) :]
    copy_rows(
        "COPY predictions_leaguemember (league_id, user_id, joined_at) FROM STDIN",
        ((lid, uid, now) for lid, group in zip(league_ids, groups, strict=True) for uid in group),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return len(groups)


def start_workers(log: Path, queues: str = "settlement") -> subprocess.Popen:
    argv = [str(Path(sys.executable).parent / "celery"), "-A", "livescore", "worker"]
    argv += ["-Q", queues, "-c", "2", "-l", "info", "--without-gossip", "--without-mingle"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    from livescore.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0)
        if replies:
            return proc
    raise RuntimeError(f"workers did not start: {log.read_text()[-2000:]}")


def scorers_of(match) -> list:
    """Home, away, home: the scorers of a 2-1."""
    home_players = list(match.home.players.all())
    return [home_players[0], match.away.players.first(), home_players[5]]


def play_to_full_time(match, scorers) -> float:
    """Kick-off, goals, possession, full time: returns the wall time just before full time."""
    from matches.models import MatchStatus as S
    from matches.services import match_change_status, match_record_goal, match_set_possession

    match_change_status(match=match, status=S.FIRST_HALF)
    match_record_goal(match=match, team=match.home, minute=12, player=scorers[0])
    match_change_status(match=match, status=S.HALF_TIME, minute=45)
    match_change_status(match=match, status=S.SECOND_HALF, minute=45)
    match_record_goal(match=match, team=match.away, minute=60, player=scorers[1])
    match_record_goal(match=match, team=match.home, minute=85, player=scorers[2])
    match_set_possession(match=match, home_possession=54)
    started = time.time()
    match_change_status(match=match, status=S.FINISHED, minute=90)
    return started


def wait_for_run(match, version: int, timeout: float = 600) -> float:
    from predictions.models import SettlementRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = SettlementRun.objects.filter(match=match, result_version=version).first()
        if run and run.finished_at:
            return time.time()
        time.sleep(0.05)
    raise TimeoutError(f"settlement v{version} did not finish")


def baseline(slice_fans: list[int]) -> float:
    """The naive way, per row: Python scoring, ORM save, a total update and Redis calls."""
    from django.db.models import F

    from core.redis import client
    from matches import effects
    from predictions import leaderboard, scoring
    from predictions.models import Prediction, UserScore

    match = make_match(day=30)
    load_predictions(match, slice_fans, seed=2)
    with effects.suppressed():
        play_to_full_time(match, scorers_of(match))
    match.refresh_from_db()
    rules = scoring.rules_for(match)
    result = scoring.match_result(match, rules)
    redis = client()
    rows = list(Prediction.objects.filter(match=match))
    started = time.perf_counter()
    for prediction in rows:
        prediction.points = scoring.points_for(prediction, result, rules)
        prediction.settled_version = match.result_version
        prediction.save(update_fields=["points", "settled_version"])
        UserScore.objects.get_or_create(user_id=prediction.user_id)
        UserScore.objects.filter(user_id=prediction.user_id).update(
            points=F("points") + prediction.points
        )
        redis.zincrby(
            leaderboard.board_key("baseline:global"), prediction.points, prediction.user_id
        )
        redis.zincrby(
            leaderboard.board_key(f"baseline:match:{match.slug}"),
            prediction.points,
            prediction.user_id,
        )
    return len(rows) / (time.perf_counter() - started)


def rest_reads(fan_id: int, requests: int = 1000, warmup: int = 50) -> dict[str, float]:
    """Steady-state latency of leaderboard reads through the whole Django/DRF stack (the
    first `warmup` requests, which fill connections and caches, are not counted)."""
    import gc

    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    # Out of the collector's reach: this process also loaded a million rows, a server would not.
    gc.collect()
    gc.freeze()
    token, _ = Token.objects.get_or_create(user_id=fan_id)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    anonymous = APIClient()
    timings: dict[str, list[float]] = {"top100": [], "my_rank": []}
    for n in range(warmup + requests):
        for name, c, url in (
            ("top100", anonymous, "/api/v1/leaderboards/global/?n=100"),
            ("my_rank", client, "/api/v1/leaderboards/global/?n=1"),
        ):
            started = time.perf_counter()
            response = c.get(url)
            if n >= warmup:
                timings[name].append(time.perf_counter() - started)
            assert response.status_code == 200, response.content
    out = {}
    for name, values in timings.items():
        values.sort()
        out[f"{name}_p50_ms"] = round(statistics.median(values) * 1000, 2)
        out[f"{name}_p99_ms"] = round(values[int(0.99 * len(values)) - 1] * 1000, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fans", type=int, default=250_000)
    parser.add_argument("--chunk-users", type=int, default=10_000)
    parser.add_argument("--baseline-fans", type=int, default=500, help="slice for the baseline")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    setup_django(args.chunk_users)
    from matches.services import match_correct_goal
    from predictions import leaderboard

    results: dict[str, object] = {"fans": args.fans, "chunk_users": args.chunk_users}
    # The boards of an empty database are complete: built (and marked so) before loading, as
    # a deploy's `rebuild_leaderboards` or first leaderboard read would.
    leaderboard.rebuild_all()
    match = make_match(day=10)
    started = time.perf_counter()
    fan_ids = load_fans(args.fans + args.baseline_fans)
    fans, slice_fans = fan_ids[: args.fans], fan_ids[args.fans :]
    results["predictions"] = load_predictions(match, fans)
    results["jokers"] = load_game(match, fans)
    # The same predictions on a second match, played the same way without settling it:
    # PostgreSQL's floor for the same work is measured on them.
    floor_match = make_match(day=20)
    load_predictions(floor_match, fans)
    results["leagues"] = load_leagues(fans)
    results["load_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(results), flush=True)

    log_dir = Path(os.environ.get("BENCH_LOG_DIR") or os.environ.get("LIVESCORE_VAR_DIR", "/tmp"))
    workers = start_workers(log_dir / "settlement-workers.log")
    try:
        t0 = play_to_full_time(match, scorers_of(match))
        t1 = wait_for_run(match, 1)
        results["settle_s"] = round(t1 - t0, 2)
        results["rows_per_s"] = round(results["predictions"] / (t1 - t0))
        checked = time.perf_counter()
        results["boards_consistent"] = leaderboard.check_all() == []
        results["check_s"] = round(time.perf_counter() - checked, 1)
        print(json.dumps(results), flush=True)

        match.refresh_from_db()
        first_goal = match.events.filter(kind="goal").order_by("seq").first()
        t2 = time.time()
        match_correct_goal(match=match, goal=first_goal, player=match.home.players.all()[7])
        t3 = wait_for_run(match, match.result_version)
        results["resettle_s"] = round(t3 - t2, 2)
        results["boards_consistent_after_correction"] = leaderboard.check_all() == []
        print(json.dumps(results), flush=True)
    finally:
        workers.terminate()
        workers.wait(timeout=30)

    from matches import effects

    with effects.suppressed():
        play_to_full_time(floor_match, scorers_of(floor_match))
    results.update(floor(floor_match))
    results["settle_over_floor_update"] = round(results["settle_s"] / results["floor_update_s"], 2)
    print(json.dumps(results), flush=True)

    per_row = baseline(slice_fans)
    results["baseline_rows_per_s"] = round(per_row)
    results["baseline_1m_extrapolated_s"] = round(1_000_000 / per_row)
    results["speedup_vs_baseline"] = round(results["rows_per_s"] / per_row, 1)
    results["global_board_members"] = leaderboard.size("global")
    # Reads are timed once autovacuum would have cleaned up after the two settlements (two
    # million dead row versions), so they measure the read path, not a vacuum on 2 cores.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) predictions_prediction")
    results.update(rest_reads(fans[len(fans) // 2]))
    print(json.dumps(results, indent=2), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
