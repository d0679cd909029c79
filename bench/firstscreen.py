"""Time to a visible score on emulated slow 3G: a match's link, the old way and the new.

The real stack on 127.0.0.1 (bench/stack.py) with the 2022 final replayed up to its first
goal, and headless Chromium at phone size under Chromium's own network emulation
(DevTools `Network.emulateNetworkConditions`) with the "Slow 3G" profile Puppeteer
predefines: 2,000 ms of latency, 50,000 bytes per second each way.

For each run, in the same run and on fresh browser contexts:
- `hash link`: `/#/m/<slug>`, what a match's link was before: the page, its assets, then
  the match read from the API before anything can be drawn;
- `match link`: `/m/<slug>`, the page carrying the match and its live snapshot
  (webapp/views.py): the page and its assets, nothing else before the score;
each with a cold cache (a first visit) and a warm one (the assets cached, as for a fan who
opened the app before). Reported: milliseconds from navigation start until the score the
page shows equals the server's (1-0), median and range over the runs.

    bash scripts/bench.sh bench/firstscreen.py --runs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API

import django  # noqa: E402

django.setup()

from bench.common import write_json  # noqa: E402
from bench.stack import FINAL, LocalStack  # noqa: E402
from matches import simulator  # noqa: E402
from matches.models import Match  # noqa: E402

SLOW_3G = {
    "offline": False,
    "latency": 2000,
    "downloadThroughput": 50_000,
    "uploadThroughput": 50_000,
}
SCORE_SHOWN = "() => document.querySelector('#score-h')?.textContent === '1'"


def first_goal(stack: LocalStack) -> str:
    source = Match.objects.select_related("home", "away").get(slug=FINAL)
    replay = simulator.replay_create(source=source)
    plan = simulator.replay_plan(source=source, replay=replay)
    goals = ("goal", "penalty_goal", "own_goal")
    upto = next(i for i, p in enumerate(plan) if p.event["kind"] in goals) + 1
    for planned in plan[:upto]:
        simulator.post_event(base_url=stack.web, provider="demo", event=planned.event)
    for _ in range(600):
        with urllib.request.urlopen(f"{stack.web}/api/v1/matches/{replay.slug}/") as r:
            if b'"home_score":1' in r.read():
                return replay.slug
        time.sleep(0.1)
    raise RuntimeError("the first goal was not applied")


def measure(browser, base: str, url: str, warm: bool) -> float:
    # No service worker: its own fetches escape the page's network emulation (and its cache
    # would answer the API reads). The warm case is the HTTP cache of the hashed assets.
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, service_workers="block"
    )
    page = context.new_page()
    page.set_default_timeout(120_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    if warm:  # a fan who opened the app before: its hashed assets are in the cache
        page.goto(f"{base}/")
        page.wait_for_selector("#list-live")
        page.wait_for_timeout(1000)
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    page.goto("about:blank")
    page.goto(url, wait_until="commit")
    page.wait_for_function(SCORE_SHOWN, polling=50)
    shown = page.evaluate("performance.now()")
    context.close()
    return float(shown)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium")
    logs = Path(tempfile.mkdtemp(prefix="firstscreen-"))
    results: dict[str, list[float]] = {}
    with LocalStack(logs) as stack, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        slug = first_goal(stack)
        links = {"hash link": f"{stack.web}/#/m/{slug}", "match link": f"{stack.web}/m/{slug}"}
        for run in range(args.runs):
            for cache in ("cold", "warm"):
                for name, url in links.items():
                    ms = measure(browser, stack.web, url, warm=cache == "warm")
                    results.setdefault(f"{name}, {cache} cache", []).append(ms)
                    print(f"run {run + 1}: {name}, {cache} cache: {ms:.0f} ms", flush=True)
        browser.close()
    summary = {
        key: {"median_ms": round(statistics.median(v)), "min_ms": round(min(v)),
              "max_ms": round(max(v))}
        for key, v in results.items()
    }  # fmt: skip
    for key, s in summary.items():
        print(f"{key}: {s['median_ms']} ms ({s['min_ms']}-{s['max_ms']})")
    write_json(args.json, {"profile": SLOW_3G, "runs": args.runs, "summary": summary})


if __name__ == "__main__":
    main()
