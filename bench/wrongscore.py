"""Wrong-score seconds: how long a fan's screen shows a score that is not the server's truth.

The real stack on 127.0.0.1 (a uvicorn web process, a Celery worker, PostgreSQL, Redis) and
headless Chromium at phone size. The page is served through a TCP proxy of the benchmark's
own (tests/integration/netproxy.py), which models the network: while the 2022 final is
replayed through the signed feed (`--speed` times real time, with the simulator's chaos),

1. frozen for 60 s from just before the first goal: the open connections carry no packet
   either way and are never closed (a NAT that forgot the flow); new connections work, so a
   client that notices can recover through a fresh one. With `--tunnel` new connections are
   refused too for those 60 s (a phone in a tunnel): nobody can show the truth then, and
   what counts is how long the page still calls its score current;
2. dropped for 10 s: every connection reset, new ones refused;
3. slowed for 60 s: `--latency` seconds added to every chunk each way (about a slow 3G
   link).

Each phase starts 3 s before a goal, the first goal at least 10 s after the previous phase
ended (at 30x one minute spans half an hour of the match, so the phases would overlap).

Every 200 ms the score on the page is compared with the REST truth (read from the server
directly, not through the proxy). Wrong-score seconds is the total time the two differed
beyond a 2 s grace after each change of the truth; of those, vouched seconds are the ones
the page showed under "live" or "polling" (the states in which it calls the score current,
docs/webapp.md) rather than marked "not current". Each run measures the web client as it
is, and beside it the same client with its liveness watchdog switched off (what it did
before it timed the connection: the baseline), in the same run.

    bash scripts/bench.sh bench/wrongscore.py --runs 3 --speed 30
    bash scripts/bench.sh bench/wrongscore.py --runs 3 --speed 30 --tunnel
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API

import django  # noqa: E402

django.setup()

from bench.stack import LocalStack  # noqa: E402
from matches import simulator  # noqa: E402
from matches.models import Match  # noqa: E402
from tests.integration.netproxy import Proxy  # noqa: E402

GRACE = 2.0
TICK = 0.2
PHASES = (("freeze", 60.0), ("drop", 10.0), ("slow", 60.0))  # name, seconds


def truth(web: str, slug: str) -> tuple[int, int]:
    with urllib.request.urlopen(f"{web}/api/v1/matches/{slug}/", timeout=5) as response:
        match = json.loads(response.read())
    return match["home_score"], match["away_score"]


def on_page(page) -> tuple[tuple[int, int] | None, str]:  # type: ignore[no-untyped-def]
    """The score on the page and the connection state it shows beside it."""
    got = page.evaluate(
        "[document.querySelector('#score-h')?.textContent, "
        "document.querySelector('#score-a')?.textContent, document.body.dataset.conn]"
    )
    return ((int(got[0]), int(got[1])) if got[0] and got[1] else None), got[2] or ""


def schedule(plan: list[simulator.Planned], speed: float) -> list[tuple[str, float, float]]:
    """(phase, start, end) in seconds after the replay starts: each phase begins 3 s before
    the first goal (score change) at least 10 s after the previous phase ended, so no two
    overlap (at 30x a 60 s phase spans half an hour of the match)."""
    goals = [p.clock / speed for p in plan if p.event.get("kind") in ("goal", "penalty_goal")]
    phases, free_from = [], 0.0
    for name, length in PHASES:
        goal = next((g for g in goals if g - 3 >= free_from), None)
        if goal is None:
            break  # the replay ran out of goals (a high --speed): fewer phases
        phases.append((name, goal - 3, goal - 3 + length))
        free_from = goal - 3 + length + 10
    return phases


CURRENT = ("live", "polling")  # the states in which the page calls its score current


def network(net: Proxy, phases: list[tuple[str, float, float]], started: float, latency: float,
            tunnel: bool):  # type: ignore[no-untyped-def]  # fmt: skip
    """Run the network's phases on their schedule (a thread)."""
    for name, start, end in phases:
        time.sleep(max(0.0, started + start - time.monotonic()))
        if name == "freeze":
            net.freeze()
            if tunnel:
                net.refuse()
        elif name == "drop":
            net.drop()
        else:
            net.slow(latency)
        time.sleep(max(0.0, started + end - time.monotonic()))
        net.restore()
        net.slow(0.0)


def one_run(browser, web: str, port: int, speed: float, latency: float, watchdog: bool,
            tunnel: bool) -> dict:  # type: ignore[no-untyped-def]  # fmt: skip
    source = Match.objects.select_related("home", "away").get(slug="arg-vs-fra-2022-12-18")
    replay = simulator.replay_create(source=source)
    plan = simulator.add_chaos(simulator.replay_plan(source=source, replay=replay), home_code="ARG")
    net = Proxy(port)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    if not watchdog:  # the baseline: the client as it was before it timed its connection
        context.add_init_script(
            "addEventListener('DOMContentLoaded', () => {"
            " window.livescore.conn.watch = () => {}; })"
        )
    page = context.new_page()
    page.goto(f"{net.url}/#/m/{replay.slug}")
    page.wait_for_selector("#conn[data-state=live]", timeout=30_000)
    send = lambda event: simulator.post_event(base_url=web, provider="demo", event=event)  # noqa: E731
    phases = schedule(plan, speed)
    started = time.monotonic()
    feeder = threading.Thread(target=lambda: list(simulator.run(plan, speed=speed, send=send)))
    feeder.start()
    network_args = (net, phases, started, latency, tunnel)
    threading.Thread(target=network, args=network_args, daemon=True).start()
    changed_at, last_truth = started, truth(web, replay.slug)
    wrong: dict[str, float] = {}  # phase -> wrong-score seconds
    vouched: dict[str, float] = {}  # phase -> of those, seconds shown under "live"
    recovered: dict[str, float] = {}  # phase -> seconds from the network's return to the truth
    trace, last_seen = [], None
    deadline = started + plan[-1].clock / speed + 60
    while time.monotonic() < deadline:
        now = time.monotonic()
        current = truth(web, replay.slug)
        if current != last_truth:
            last_truth, changed_at = current, now
        shown, state = on_page(page)
        if (shown, state, current) != last_seen:  # the transitions, for a reader of the JSON
            last_seen = (shown, state, current)
            trace.append((round(now - started, 1), shown, state, current))
        phase = next((n for n, a, b in phases if a <= now - started <= b + 30), "other")
        if shown != current and now - changed_at > GRACE:
            wrong[phase] = wrong.get(phase, 0.0) + TICK
            if state in CURRENT:
                vouched[phase] = vouched.get(phase, 0.0) + TICK
        for name, _, end in phases:
            if name not in recovered and now - started > end and shown == current:
                recovered[name] = round(now - started - end, 1)
        if not feeder.is_alive() and shown == current and now - changed_at > 10:
            break
        page.wait_for_timeout(TICK * 1000)
    feeder.join(60)
    final = on_page(page)[0], truth(web, replay.slug)
    context.close()
    net.close()
    return {
        "watchdog": watchdog,
        "wrong_seconds": round(sum(wrong.values()), 1),
        "vouched_seconds": round(sum(vouched.values()), 1),
        "by_phase": {k: round(v, 1) for k, v in wrong.items()},
        "vouched_by_phase": {k: round(v, 1) for k, v in vouched.items()},
        "recovered_after": recovered,
        "phases": [(name, round(a, 1), round(b, 1)) for name, a, b in phases],
        "converged": final[0] == final[1],
        "trace": trace,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--speed", type=float, default=30.0)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per chunk, slowed")
    parser.add_argument("--tunnel", action="store_true", help="refuse new connections, frozen")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    logs = Path(tempfile.mkdtemp(prefix="wrongscore-"))
    chromium = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium")
    results = []
    with LocalStack(logs) as stack, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for n in range(args.runs):
            for watchdog in (True, False):
                result = one_run(
                    browser, stack.web, stack.port, args.speed, args.latency, watchdog, args.tunnel
                )
                brief = {k: v for k, v in result.items() if k != "trace"}
                print(f"run {n + 1} {'client' if watchdog else 'baseline'}: {brief}", flush=True)
                results.append(result)
        browser.close()
    for watchdog in (True, False):
        name = "client" if watchdog else "baseline (no liveness watchdog)"
        for key in ("wrong_seconds", "vouched_seconds"):
            figures = [r[key] for r in results if r["watchdog"] == watchdog]
            print(f"{name}: {key} median {statistics.median(figures)} "
                  f"(range {min(figures)}-{max(figures)}) over {len(figures)} runs")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
