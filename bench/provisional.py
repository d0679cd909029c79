"""Provisional standings benchmark: 1,000,000 predictions of one live match, 250,000 fans.

Loads the fans, their predictions (four kinds each) and leagues of 20 with COPY (the same
data as bench/settlement.py), starts a real Celery worker on the `realtime` queue, kicks the
match off through the match services (the first pass reads the predictions once) and then
records goals, a disallowed goal and a possession figure. For each it times the change's
commit -> every provisional board rewritten and every fan's `prov` frame published (the
pass's own end, written by the worker to `prov:status`).

The baseline for the scoring step, in the same run: rescoring the match's million rows, as
one SQL aggregate (the settlement rule over every prediction, grouped by fan), against the
same step by distinct pick over the table. Then provisional leaderboard reads through the whole
Django/DRF stack.

    bash scripts/bench.sh bench/provisional.py [--fans 250000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")

from bench import settlement as data  # noqa: E402


def wait_pass(after: int, timeout: float = 120) -> dict[str, float]:
    """Wait for the worker's pass number `after` + 1 (or later); returns prov:status."""
    from core.redis import client
    from predictions import provisional

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client().hgetall(provisional.STATUS_KEY)
        if int(status.get(b"passes", 0)) > after:
            return {k.decode(): float(v) for k, v in status.items()}
        time.sleep(0.005)
    raise TimeoutError("no provisional pass")


def passes() -> int:
    from core.redis import client
    from predictions import provisional

    return int(client().hget(provisional.STATUS_KEY, "passes") or 0)


def rescore_all(match) -> float:
    """The baseline: the settlement rule over all of the match's rows, grouped by fan."""
    from django.db import connection

    from predictions import scoring

    match.refresh_from_db()
    rules = scoring.rules_for(match)
    points, params = scoring.points_sql(scoring.match_result(match, rules), rules)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.user_id, SUM({points}) FROM predictions_prediction p"
            " WHERE p.match_id = %s GROUP BY p.user_id",
            [*params, match.pk],
        )
        rows = cursor.fetchall()
    assert rows
    return time.perf_counter() - started


def points_by_class(match) -> float:
    from predictions import provisional

    match.refresh_from_db()
    started = time.perf_counter()
    users, points, _ = provisional.match_points(match)
    assert len(users) == len(points)
    return time.perf_counter() - started


def timed(change, label: str, results: dict) -> None:
    before = passes()
    started = time.time()
    change()
    status = wait_pass(before)
    results.setdefault("changes", []).append(
        {
            "change": label,
            "commit_to_ready_s": round(status["finished_at"] - started, 3),
            "pass_s": round(status["seconds"], 3),
            "frames": int(status["frames"]),
        }
    )
    print(json.dumps(results["changes"][-1]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fans", type=int, default=250_000)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    data.setup_django(10_000)
    from matches.models import MatchStatus as S
    from matches.services import (
        match_change_status,
        match_disallow_goal,
        match_record_goal,
        match_set_possession,
    )
    from predictions import leaderboard

    results: dict = {"fans": args.fans}
    leaderboard.rebuild_all()
    match = data.make_match(day=10)
    fans = data.load_fans(args.fans)
    results["predictions"] = data.load_predictions(match, fans)
    results["leagues"] = data.load_leagues(fans)
    log_dir = Path(os.environ.get("BENCH_LOG_DIR") or os.environ.get("LIVESCORE_VAR_DIR", "/tmp"))
    workers = data.start_workers(log_dir / "provisional-workers.log", queues="realtime")
    home, away = list(match.home.players.all()), list(match.away.players.all())
    try:
        timed(lambda: match_change_status(match=match, status=S.FIRST_HALF), "kick-off", results)
        timed(
            lambda: match_record_goal(match=match, team=match.home, minute=12, player=home[0]),
            "goal 1-0",
            results,
        )
        timed(
            lambda: match_record_goal(match=match, team=match.away, minute=30, player=away[3]),
            "goal 1-1",
            results,
        )
        phantom = []
        timed(
            lambda: phantom.append(
                match_record_goal(match=match, team=match.home, minute=40, player=home[5])
            ),
            "goal 2-1",
            results,
        )
        timed(
            lambda: match_disallow_goal(match=match, goal=phantom[0].event, reason="VAR"),
            "VAR: disallowed, 1-1",
            results,
        )
        timed(lambda: match_set_possession(match=match, home_possession=54), "possession", results)
        timed(
            lambda: match_record_goal(match=match, team=match.home, minute=44, player=home[2]),
            "goal 2-1",
            results,
        )
    finally:
        workers.terminate()
        workers.wait(timeout=30)
    goals = [c["commit_to_ready_s"] for c in results["changes"][1:]]
    results["goal_to_ready_median_s"] = round(statistics.median(goals), 3)
    results["goal_to_ready_max_s"] = max(goals)
    # The scoring step alone, both ways, in this process: per distinct pick over the table
    # (read from Redis, as a pass does) against every row rescored in SQL.
    baseline = [rescore_all(match) for _ in range(3)]
    classes = [points_by_class(match) for _ in range(3)]
    results["scoring_by_class_median_s"] = round(statistics.median(classes), 4)
    results["baseline_rescore_sql_median_s"] = round(statistics.median(baseline), 3)
    results["scoring_speedup_vs_baseline"] = round(
        results["baseline_rescore_sql_median_s"] / results["scoring_by_class_median_s"], 1
    )
    results.update(data.rest_reads(fans[len(fans) // 2]))
    print(json.dumps(results, indent=2), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
