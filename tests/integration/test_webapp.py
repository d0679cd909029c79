"""The fans' web client in a real browser: headless Chromium (the operating system's package,
driven by Playwright) against the real stack: uvicorn serving the collected, hashed static
files, a Celery worker applying the signed feed, PostgreSQL and Redis."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils.timezone import now as django_now

from core.net import free_port
from matches import simulator
from matches.models import Competition, Match, MatchStatus
from matches.services import match_change_status, match_create
from matches.worldcup import worldcup_load
from predictions import leaderboard
from tests.integration.conftest import Process, Server, scrape, value, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
FIRST_LOAD_BUDGET = 60 * 1024
SPRITE_BUDGET = 60 * 1024


def chromium() -> str:
    found = (
        os.environ.get("CHROMIUM_BIN")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not found:
        pytest.fail("no chromium: scripts/test.sh installs it (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def web_env(stack_env, tmp_path_factory) -> dict[str, str]:
    """The servers' environment, with the static files collected as a deploy does."""
    var = tmp_path_factory.mktemp("webvar")
    env = {**stack_env, "LIVESCORE_VAR_DIR": str(var), "WS_IDLE_TIMEOUT": "60"}
    manage = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
    subprocess.run(manage, cwd=ROOT, env=env, check=True)
    return env


def serve(env: dict[str, str], port: int, log: Path) -> Process:
    env = {**env, "ASGI_SERVER": "uvicorn", "WEB_PORT": str(port), "HOST": "127.0.0.1"}
    process = Process("web", ["bash", str(ROOT / "scripts" / "serve.sh")], env, log)
    wait_until(lambda: _answers(port), 60, "the web server")
    return process


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def web(web_env, celery_worker, tmp_path_factory) -> Iterator[Server]:
    port = free_port()
    process = serve(web_env, port, tmp_path_factory.mktemp("weblogs") / "web.log")
    yield Server("uvicorn", port, process)
    process.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, and Django then refuses the
    # tests' own database calls; they are plain synchronous test code (pytest-django's
    # documented remedy for Playwright).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def phone(browser, web):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def shot(page, name: str) -> None:
    """A screenshot: into docs/screenshots (the README's) with UPDATE_SCREENSHOTS=1, else
    into a temporary directory, so a test run leaves the working tree clean."""
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
    else:
        path = Path(tempfile.gettempdir()) / f"livescore-{name}.png"
    page.screenshot(path=str(path))


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}
        return response.status, headers, response.read()


def sign_up(name: str) -> User:
    return User.objects.create_user(name, password=f"pw-{name}-secret")


def sign_in(page, web, user: User) -> None:
    page.goto(f"{web.url}/#/signin")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", f"pw-{user.username}-secret")
    page.click("#signin-form button")
    page.wait_for_selector(f"text=Sign out {user.username}")


def final_replay(lead: float = 0) -> tuple[Match, list]:
    worldcup_load(year=2022)
    source = Match.objects.select_related("home", "away").get(slug="arg-vs-fra-2022-12-18")
    replay = simulator.replay_create(source=source, lead_seconds=lead)
    plan = simulator.add_chaos(simulator.replay_plan(source=source, replay=replay), home_code="ARG")
    return replay, plan


def send_all(web, plan) -> None:
    send = lambda event: simulator.post_event(base_url=web.url, provider="demo", event=event)  # noqa: E731
    assert {status for _, status in simulator.run(plan, speed=1e6, send=send)} == {202}


def rest_score(web, slug: str) -> tuple[int, int]:
    match = web.get_json(f"/api/v1/matches/{slug}/")
    return match["home_score"], match["away_score"]


# ---- weight and caching ------------------------------------------------------------------------


def test_first_load_is_within_budget_and_cached_forever(web):
    status, headers, body = fetch(f"{web.url}/")
    html = (
        gzip.decompress(body).decode()
        if headers.get("content-encoding") == "gzip"
        else body.decode()
    )
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    sizes = {"/": len(body)}
    for path in assets:
        _, asset_headers, asset = fetch(web.url + path)
        sizes[path] = len(asset)
        assert re.search(r"\.[0-9a-f]{12}\.(js|css|svg)$", path), path  # content-hashed
        assert asset_headers["cache-control"] == "max-age=31536000, public, immutable"
        assert asset_headers.get("content-encoding") == "gzip"
    sprite_path = re.search(r"url\(\"?(flags\.[0-9a-f]{12}\.webp)", gzip.decompress(
        fetch(web.url + next(a for a in assets if "flags" in a))[2]).decode()).group(1)  # fmt: skip
    _, sprite_headers, sprite = fetch(f"{web.url}/static/webapp/{sprite_path}")

    assert status == 200 and headers["content-encoding"] == "gzip"
    assert headers["cache-control"] == "no-cache"  # it carries the live list (below)
    assert {p.rsplit("/", 1)[-1].split(".")[0] for p in assets} == {"app", "flags", "icon"}
    assert sum(sizes.values()) <= FIRST_LOAD_BUDGET, sizes
    assert len(sprite) <= SPRITE_BUDGET and sprite_headers["content-type"] == "image/webp"
    print(f"first load {sum(sizes.values())} bytes compressed: {sizes}; sprite {len(sprite)} bytes")
    # Browsers that ask for /favicon.ico anyway are sent to the icon, not a 404.
    status, headers, _ = fetch(f"{web.url}/favicon.ico")
    assert status == 200 and headers["content-type"].startswith("image/svg")


def test_a_match_link_carries_its_first_screen_and_draws_it_without_an_api_read(phone, web):
    replay, plan = final_replay()
    send_all(web, plan[: next(i for i, p in enumerate(plan) if p.event["kind"] == "goal") + 1])
    wait_until(lambda: rest_score(web, replay.slug) == (1, 0), 30, "the first goal applied")
    _, _, body = fetch(f"{web.url}/m/{replay.slug}")
    page = gzip.decompress(body).decode()
    boot = json.loads(
        re.search(r'<script id="boot" type="application/json">(.*?)</script>', page)[1]
    )
    assert set(boot) == {f"matches/{replay.slug}/", f"matches/{replay.slug}/live/"}
    assert boot[f"matches/{replay.slug}/"] == web.get_json(f"/api/v1/matches/{replay.slug}/")
    assert boot[f"matches/{replay.slug}/live/"]["d"]["s"] == [1, 0]
    list_boot = fetch(f"{web.url}/")[2]
    assert b"matches/?status=live" in gzip.decompress(list_boot)

    reads: list[str] = []
    phone.on("request", lambda r: reads.append(r.url) if "/api/v1/matches/" in r.url else None)
    phone.goto(f"{web.url}/m/{replay.slug}")
    phone.wait_for_function("() => document.querySelector('#score-h')?.textContent === '1'")
    assert phone.url.endswith(f"/#/m/{replay.slug}")
    assert not [u for u in reads if u.endswith((f"/{replay.slug}/", "/live/"))], reads
    phone.wait_for_selector("#conn[data-state=live]")
    assert phone.inner_text("#score-h") == "1"


def test_installable_and_opens_offline_with_the_last_state_marked_not_current(browser, web):
    import json

    status, headers, body = fetch(f"{web.url}/manifest.webmanifest")
    manifest = json.loads(gzip_or_plain(headers, body))
    icons = {icon["sizes"]: fetch(web.url + icon["src"])[0] for icon in manifest["icons"]}
    replay, _ = final_replay(lead=3600)
    page = phone_at(browser, f"{web.url}/")
    page.wait_for_selector(f"#list-soon .row[data-slug='{replay.slug}']")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=20_000)
    page.reload()  # every answer of the page now passed through the worker once
    page.wait_for_selector(f"#list-soon .row[data-slug='{replay.slug}']")
    page.context.set_offline(True)
    page.reload()
    page.wait_for_selector(f"#list-soon .row[data-slug='{replay.slug}']")  # from the cache
    state = page.get_attribute("#conn", "data-state")
    page.context.set_offline(False)
    page.wait_for_selector("#conn[data-state=live]", timeout=40_000)
    trouble = page.trouble
    page.context.close()

    assert status == 200 and headers["content-type"] == "application/manifest+json"
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    assert icons == {"any": 200, "192x192": 200, "512x512": 200}
    assert state != "live"  # the cached list is on screen, not vouched for
    assert not trouble


# ---- the final, live ---------------------------------------------------------------------------


def test_the_final_replays_live_to_3_3_and_4_2_on_penalties(phone, web):
    replay, plan = final_replay()
    phone.goto(f"{web.url}/#/m/{replay.slug}")
    phone.wait_for_selector("#conn[data-state=live]")
    phone.wait_for_selector("#timeline", state="attached")

    first_goal = next(i for i, p in enumerate(plan) if p.event.get("kind") == "goal")
    send_all(web, plan[: first_goal + 1])
    phone.wait_for_function("() => document.querySelector('#score-h').textContent === '1'")
    shot(phone, "match-goal")
    phone.goto(f"{web.url}/#/")  # the live list, then back: each view subscribes afresh
    phone.wait_for_selector(f".live[data-slug='{replay.slug}'] .sc:text('1')")
    shot(phone, "live-list")
    phone.goto(f"{web.url}/#/m/{replay.slug}")
    phone.wait_for_selector("#timeline li")
    send_all(web, plan[first_goal + 1 :])
    phone.wait_for_function(
        "() => document.querySelector('#status').textContent === 'FT · pens 4-2'"
    )

    assert phone.inner_text("#score-h") == "3" and phone.inner_text("#score-a") == "3"
    assert phone.locator("#timeline li[data-t=disallow]").count() >= 1
    assert phone.locator("#timeline .off").count() >= 1  # the cancelled goal, struck through
    assert rest_score(web, replay.slug) == (3, 3)

    phone.goto(f"{web.url}/#/")
    phone.wait_for_selector(f"a[data-slug='{replay.slug}'] .st:text('FT')")  # now a result


def test_the_match_centre_of_the_replayed_final_line_ups_statistics_momentum(phone, web):
    replay, plan = final_replay()
    phone.goto(f"{web.url}/#/m/{replay.slug}")
    phone.wait_for_selector("#conn[data-state=live]")
    send_all(web, plan[:2])  # the line-ups, before kick-off
    phone.click("#tab-lineups")
    phone.wait_for_selector("#lineups [data-team=FRA]")
    assert "ARG · 4-3-3" in phone.inner_text("#lineups [data-team=ARG] h3")
    assert "10\nLionel Messi\nRW" in phone.inner_text("#lineups [data-team=ARG] .xi")
    assert "StatsBomb open data" in phone.inner_text("#lineups")
    send_all(web, plan[2:])
    phone.wait_for_function("() => document.querySelector('#status').textContent.startsWith('FT')")
    # The substitutions of the timeline mark the line-ups: Di María off, Acuña on at 64'.
    phone.wait_for_selector('#lineups [data-team=ARG] .subbed:text("↓64\'")')
    assert phone.locator("#lineups [data-team=ARG] .came-on").count() == 6
    shot(phone, "match-lineups")

    phone.click("#tab-stats")
    snap = web.get_json(f"/api/v1/matches/{replay.slug}/live/")["d"]
    total_shots = sum(snap["sx"][p]["h"]["sh"] for p in snap["sx"])
    phone.wait_for_selector("#stats [data-stat=sh]")
    assert phone.inner_text("#stats [data-stat=sh] td >> nth=0") == str(total_shots)
    assert "Simulated statistics" in phone.inner_text("#simulated")
    phone.click("#stats button:text('2nd half')")
    second = snap["sx"]["2"]["a"]["co"]
    corners = "document.querySelector('#stats [data-stat=co] td:last-child').textContent"
    phone.wait_for_function(f"() => {corners} === '{second}'")
    assert phone.locator("#momentum span").count() == len(snap["mo"])
    shot(phone, "match-stats")
    # The keyboard moves between the tabs.
    phone.focus("#tab-stats")
    phone.keyboard.press("ArrowRight")
    assert phone.evaluate("document.activeElement.id") == "tab-timeline"
    assert phone.is_visible("#timeline") and not phone.is_visible("#stats")


def test_the_client_reports_the_goal_latency_it_saw(phone, web):
    replay, plan = final_replay()
    phone.goto(f"{web.url}/#/m/{replay.slug}")
    phone.wait_for_selector("#conn[data-state=live]")
    before = value(scrape(web), "livescore_client_latency_seconds_count", kind="goal")

    first_goal = next(i for i, p in enumerate(plan) if p.event.get("kind") == "goal")
    send_all(web, plan[: first_goal + 1])
    phone.wait_for_function("() => document.querySelector('#score-h').textContent === '1'")

    def reported() -> bool:
        phone.wait_for_timeout(250)  # Playwright's waits pump the page's timers
        return value(scrape(web), "livescore_client_latency_seconds_count", kind="goal") > before

    wait_until(reported, 40, "the client's latency report on /metrics")


def test_a_restarted_server_reconnects_and_converges_without_a_reload(phone, web_env, tmp_path):
    port = free_port()
    server = serve(web_env, port, tmp_path / "web.log")
    url = f"http://127.0.0.1:{port}"
    replay, plan = final_replay()
    try:
        phone.goto(f"{url}/#/m/{replay.slug}")
        phone.wait_for_selector("#conn[data-state=live]")
        half = len(plan) // 2
        send_all(Server("uvicorn", port, server), plan[:half])
        server.stop()  # the server restarts mid-match
        phone.wait_for_selector("#conn[data-state=reconnecting], #conn[data-state=polling]")
        server = serve(web_env, port, tmp_path / "web2.log")
        send_all(Server("uvicorn", port, server), plan[half:])
        phone.wait_for_selector("#conn[data-state=live]", timeout=60_000)
        phone.wait_for_function(
            "() => document.querySelector('#status').textContent.includes('4-2')", timeout=60_000
        )
        expected = rest_score(Server("uvicorn", port, server), replay.slug)
        got = (int(phone.inner_text("#score-h")), int(phone.inner_text("#score-a")))
        navigations = phone.evaluate("performance.getEntriesByType('navigation').length")
    finally:
        server.stop()

    assert got == expected == (3, 3)
    assert navigations == 1  # no reload


def test_a_blocked_socket_is_noticed_and_recovered_by_seq(phone, web):
    replay, plan = final_replay()
    blocked = {"on": False, "dropped": 0}

    def route(ws):
        server = ws.connect_to_server()

        def from_server(message):
            if blocked["on"] and '"seq"' in message:
                blocked["dropped"] += 1  # lost on the way, as on a bad network
                return
            ws.send(message)

        server.on_message(from_server)
        ws.on_message(lambda message: server.send(message))

    phone.route_web_socket(re.compile(r".*/ws/.*"), route)
    phone.goto(f"{web.url}/#/m/{replay.slug}")
    phone.wait_for_selector("#conn[data-state=live]")
    phone.wait_for_selector("#timeline", state="attached")
    third = len(plan) // 3
    send_all(web, plan[:third])
    phone.wait_for_function("() => window.livescore.conn.seqs.size > 0")
    blocked["on"] = True
    send_all(web, plan[third : 2 * third])
    # Playwright delivers the socket's messages to the route only while it waits itself.
    for _ in range(200):
        if blocked["dropped"]:
            break
        phone.wait_for_timeout(100)
    phone.wait_for_timeout(1500)  # the rest of this third is applied meanwhile, and lost too
    blocked["on"] = False
    send_all(web, plan[2 * third :])  # the next frame shows a gap: the page resumes with since
    phone.wait_for_function(
        "() => document.querySelector('#status').textContent === 'FT · pens 4-2'"
    )

    assert blocked["dropped"] > 0
    assert (int(phone.inner_text("#score-h")), int(phone.inner_text("#score-a"))) == (3, 3)
    seqs = phone.evaluate(f"window.livescore.conn.seqs.get('match:{replay.slug}')")
    assert seqs == web.get_json(f"/api/v1/matches/{replay.slug}/")["seq"]


# ---- predictions, leagues, boards ------------------------------------------------------------


def test_a_prediction_is_made_changed_and_then_locked(phone, web):
    fan = sign_up("pia")
    replay, _ = final_replay(lead=3600)
    sign_in(phone, web, fan)
    phone.goto(f"{web.url}/#/m/{replay.slug}")
    # The form appears after five API reads; a loaded machine (the whole suite) can take a
    # while, so wait for it explicitly rather than inside the first fill.
    phone.wait_for_selector("form[data-kind=score] input[name=home_goals]", timeout=60_000)
    form = phone.locator("form[data-kind=score]")
    form.locator("input[name=home_goals]").fill("2")
    form.locator("input[name=away_goals]").fill("1")
    form.locator("button").click()
    phone.wait_for_selector("#pred-msg:text('Exact score saved.')")
    form.locator("input[name=home_goals]").fill("3")
    form.locator("button").click()
    phone.wait_for_function(
        "() => document.querySelector('#pred-msg').textContent === 'Exact score saved.'"
    )
    wait_until(lambda: fan.prediction_set.filter(kind="score", home_goals=3).exists(), 10, "saved")

    match_change_status(match=replay, status=MatchStatus.FIRST_HALF)
    phone.reload()
    phone.wait_for_selector("#lock:text('locked')")

    assert phone.locator("form[data-kind=score] button").is_disabled()
    saved = fan.prediction_set.get(kind="score")
    assert (saved.home_goals, saved.away_goals) == (3, 1)


def play_through_feed(web, match: Match, goals: list[tuple[str, int]]) -> None:
    """A whole match through the signed feed, as a provider sends it: kick-off, the goals
    (team, minute) in their halves, full time."""
    first = [{"kind": "goal", "team": team, "minute": m} for team, m in goals if m <= 45]
    second = [{"kind": "goal", "team": team, "minute": m} for team, m in goals if m > 45]
    status = [{"kind": "status", "status": s} for s in ("first_half", "half_time", "second_half")]
    steps = [status[0], *first, *status[1:], *second, {"kind": "status", "status": "finished"}]
    events = [
        {"id": f"{match.slug}-{n}", "seq": n, "match": match.slug, **step}
        for n, step in enumerate(steps, start=1)
    ]
    assert simulator.post_events(base_url=web.url, provider="demo", events=events) == 202


def a_cup_day(kickoffs: list[float]) -> tuple[Competition, list[Match]]:
    """A tournament of its own whose matches kick off in `kickoffs` seconds, on one day."""
    from matches.models import Stage, Team

    worldcup_load(year=2022)
    cup = Competition.objects.create(slug="test-cup", name="Test Cup", season=2027)
    stage = Stage.objects.create(competition=cup, slug="group", name="Group", kind="group", order=1)
    pairs = [("ARG", "FRA"), ("BRA", "GER"), ("ESP", "POR")]
    start = django_now()
    # One day means one UTC day (the Play page shows a day): near midnight, the later
    # kick-offs are brought forward to stay before it, in their order.
    midnight = dt.datetime.combine(start.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    room = (midnight - start).total_seconds() - 60
    last = len(kickoffs) - 1
    kickoffs = [k if k <= room else max(room - 10 * (last - n), 1) for n, k in enumerate(kickoffs)]
    matches = [
        match_create(
            competition=cup, stage=stage, group="Group A",
            home=Team.objects.get(code=home), away=Team.objects.get(code=away),
            kickoff=start + dt.timedelta(seconds=lead),
        )
        for (home, away), lead in zip(pairs, kickoffs, strict=False)
    ]  # fmt: skip
    return cup, matches


def test_the_app_speaks_the_browsers_spanish_and_switches_to_english(browser, web):
    replay, plan = final_replay()
    context = browser.new_context(viewport=PHONE, locale="es-ES", timezone_id="Europe/Madrid")
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{web.url}/m/{replay.slug}")
    page.wait_for_selector("#tab-lineups")
    assert page.evaluate("document.documentElement.lang") == "es"
    nav = ["Directo", "Mundial", "Jugar", "Ranking", "Ligas", "Alertas"]
    assert page.inner_text("nav").split() == nav
    assert page.inner_text("#tab-timeline") == "Cronología"
    assert "Argentina v Francia" in page.inner_text(".card .sub")  # team names by region
    kickoff = page.inner_text("#match-info")
    assert "Final" in kickoff and any(
        day in kickoff for day in ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
    )
    send_all(web, plan[: next(i for i, p in enumerate(plan) if p.event["kind"] == "goal") + 1])
    page.wait_for_function(
        "() => document.querySelector('#announce').textContent.startsWith('¡Gol de Argentina!')"
    )
    page.click("#tab-lineups")
    page.wait_for_selector("#lineups h4:text('Suplentes')")
    shot(page, "match-es")
    page.select_option("#lang", "en")
    page.wait_for_selector("#tab-timeline:text('Timeline')")
    assert page.inner_text("nav").split()[0] == "Live" and "Argentina v France" in page.inner_text(
        ".card .sub"
    )
    context.close()


def test_a_matchday_saved_once_locks_match_by_match_with_a_joker_and_outrights(phone, web):
    from predictions.models import Joker, Outright

    fan = sign_up("mia")
    cup, (first, second, third) = a_cup_day([40, 3600, 3700])
    sign_in(phone, web, fan)
    phone.goto(f"{web.url}/#/play/{cup.slug}")
    phone.wait_for_selector(f"fieldset[data-slug='{third.slug}']")
    for match, (hg, ag, outcome) in zip([first, second], [(2, 1, "H"), (0, 0, "D")], strict=True):
        row = phone.locator(f"fieldset[data-slug='{match.slug}']")
        row.locator("input[name=home_goals]").fill(str(hg))
        row.locator("input[name=away_goals]").fill(str(ag))
        row.locator("select[name=outcome]").select_option(outcome)
    phone.locator(f"fieldset[data-slug='{second.slug}'] input[type=radio]").check()
    phone.click("#save-day")  # one save for the whole day
    phone.wait_for_selector("#day-msg:text('5 saved.')")
    saved = {(p.match_id, p.kind) for p in fan.prediction_set.all()}
    assert saved == {
        (first.pk, "score"),
        (first.pk, "winner"),
        (second.pk, "score"),
        (second.pk, "winner"),
    }
    assert Joker.objects.get(user=fan).match_id == second.pk
    # Each match counts down to its own kick-off.
    locks = phone.locator("fieldset.md .lock").all_inner_texts()
    assert len(locks) == 3 and all(text.startswith("Locks in") for text in locks), locks
    shot(phone, "matchday")

    phone.goto(f"{web.url}/#/play/{cup.slug}/picks")
    phone.wait_for_selector("#outrights select[name=champion]")
    phone.select_option("select[name=champion]", "ARG")
    phone.select_option("select[name=finalist0]", "ARG")
    phone.select_option("select[name=finalist1]", "FRA")
    phone.select_option("select[name=scorer_team]", "ARG")
    phone.wait_for_function(
        "() => document.querySelector('select[name=top_scorer]').options.length > 2",
    )
    phone.select_option("select[name=top_scorer]", label="Lionel Messi")
    phone.click("#outrights button")
    phone.wait_for_selector("#outright-msg:text('Tournament picks saved.')")
    picks = Outright.objects.filter(user=fan, competition=cup)
    assert sorted((o.kind, o.team.code if o.team else o.player.name) for o in picks) == [
        ("champion", "ARG"),
        ("finalist", "ARG"),
        ("finalist", "FRA"),
        ("top_scorer", "Lionel Messi"),
    ]

    phone.goto(f"{web.url}/#/play/{cup.slug}")
    # The first match locks at its own kick-off; the others stay open.
    phone.wait_for_selector(f"fieldset[data-slug='{first.slug}'][disabled]", timeout=60_000)
    assert not phone.locator(f"fieldset[data-slug='{second.slug}']").is_disabled()
    # The second kicks off early, behind the page's back: its change is refused, the third saved.
    match_change_status(match=second, status=MatchStatus.FIRST_HALF)
    phone.locator(f"fieldset[data-slug='{second.slug}'] input[name=home_goals]").fill("4")
    phone.locator(f"fieldset[data-slug='{third.slug}'] select[name=outcome]").select_option("A")
    phone.click("#save-day")
    phone.wait_for_selector("#day-msg .err")
    assert "locked, it has kicked off" in phone.inner_text("#day-msg")
    assert fan.prediction_set.get(match=second, kind="score").home_goals == 0
    assert fan.prediction_set.filter(match=third, kind="winner", outcome="A").exists()

    # Full time of the first match through the feed: settled by the workers, its points in
    # the history.
    play_through_feed(web, first, [("ARG", 10), ("ARG", 20), ("FRA", 60)])
    settled = fan.prediction_set.filter(match=first, status="settled")
    wait_until(lambda: settled.count() == 2, 60, "settled")
    phone.goto(f"{web.url}/#/play/{cup.slug}/history")
    phone.wait_for_selector(f"#history [data-match='{first.slug}'] .pts")
    phone.goto(f"{web.url}/#/play/{cup.slug}/picks")  # the tournament has kicked off
    phone.wait_for_selector("#outright-lock:text('Locked: the tournament has kicked off.')")
    assert phone.locator("select[name=champion]").is_disabled()
    phone.goto(f"{web.url}/#/play/{cup.slug}/history")
    phone.wait_for_selector(f"#history [data-match='{first.slug}'] .pts")
    points = sum(p.points for p in fan.prediction_set.filter(match=first))
    assert (
        points > 0
        and phone.inner_text(f"#history [data-match='{first.slug}'] .pts") == f"{points} pts"
    )
    assert phone.inner_text("#history-total").startswith(f"{points} points from 3 matches")
    shot(phone, "history")


def test_two_fans_meet_in_a_league_by_a_shared_link_and_chat_there(browser, web):
    ana = sign_up("ana")
    first, second = phone_at(browser, f"{web.url}/"), phone_at(browser, f"{web.url}/")
    sign_in(first, web, ana)
    first.goto(f"{web.url}/#/leagues")
    first.fill("#create input[name=name]", "Office pool")
    first.click("#create button")
    first.click("[data-league] button:text('Invite')")
    code = first.inner_text("#invite")
    link = first.get_attribute("#invite-link", "data-link")

    # Ben has no account yet: the link takes him through sign-up and back to the invite.
    second.goto(link)
    second.wait_for_selector("text=You have an invite code")
    second.click("a[href='#/signup']")
    second.fill("#signup-form input[name=username]", "ben")
    second.fill("#signup-form input[name=password]", "a long enough secret")
    second.click("#signup-form button")
    second.click("#skip-team")
    second.click("#welcome-done")
    second.click("#join-now")
    second.wait_for_selector("#members [data-member]")
    members = second.locator("#members .row").all_inner_texts()
    second.fill("#league-chat input[name=text]", "hello office")
    second.press("#league-chat input[name=text]", "Enter")
    second.wait_for_selector("#league-chat .msg:has-text('hello office')")
    shot(second, "league")

    first.goto(link.replace(f"#/join/{code}", "#/leagues"))
    first.click("[data-league] a")
    first.wait_for_selector("#league-chat .msg:has-text('hello office')")
    second.goto(f"{web.url}/#/boards")
    second.click(".tabs a:text('Office pool')")
    second.wait_for_selector("#board")
    ben = User.objects.get(username="ben")
    # Points as settlement leaves them (settlement itself is tested elsewhere).
    leaderboard.write(leaderboard.GLOBAL, [(ana.pk, 12, 1, 1), (ben.pk, 7, 0, 1)])
    first.goto(f"{web.url}/#/boards")
    first.wait_for_selector("#board tr.me")
    global_names = first.locator("#board td:nth-child(2)").all_inner_texts()
    shot(first, "leaderboard")
    first.goto(f"{web.url}/#/leagues")
    first.click("[data-league] a")
    first.once("dialog", lambda dialog: dialog.accept())
    first.click("[data-member] button:text('Remove')")
    first.wait_for_function("() => document.querySelectorAll('#members .row').length === 1")
    trouble = first.trouble + second.trouble
    for page in (first, second):
        page.context.close()

    assert re.fullmatch(r"[A-HJKMNP-TW-Z2-9]{5}-[A-HJKMNP-TW-Z2-9]{5}", code)  # no look-alikes
    assert [m.split("\n")[0] for m in members] == ["ana (owner)", "ben"]
    assert global_names == ["ana", "ben"]  # by points
    assert not trouble
    from predictions.models import LeagueMember

    assert not LeagueMember.objects.filter(user=ben).exists()


# ---- the tournament: by day, groups, the bracket, team pages ----------------------------------


def test_a_fan_browses_both_tournaments_by_day_groups_bracket_and_a_team(browser, web):
    worldcup_load(year=2022)
    worldcup_load(year=2026)
    page = phone_at(browser, f"{web.url}/#/t")
    page.wait_for_selector("#days a.on")  # the current tournament, a day chosen
    comp_2022 = Match.objects.get(slug="arg-vs-fra-2022-12-18").competition
    page.goto(f"{web.url}/#/t/{comp_2022.slug}/matches/2022-12-18")
    page.wait_for_selector("#day-matches .row[data-slug='arg-vs-fra-2022-12-18']")
    final_row = page.inner_text("#day-matches .row[data-slug='arg-vs-fra-2022-12-18']")
    days = page.locator("#days a").count()
    page.click("#days a[data-day='2022-11-22']")
    page.wait_for_selector("#days a.on[data-day='2022-11-22']")
    opening_day = page.locator("#day-matches .row").all_inner_texts()
    shot(page, "tournament-day")

    page.click(".tabs a:text('Groups')")
    page.wait_for_selector("#groups table[data-group=C]")
    group_c = page.locator("table[data-group=C] tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.team)"
    )
    shot(page, "groups")
    page.click(".tabs a:text('Bracket')")
    page.wait_for_selector("#bracket .fixture")
    final_fixture = page.inner_text("#bracket a.fixture[href='#/m/arg-vs-fra-2022-12-18']")
    shot(page, "bracket")

    page.click("#bracket a.fixture[href='#/m/arg-vs-fra-2022-12-18']")
    page.wait_for_selector("#score-h")
    page.goto(f"{web.url}/#/team/ARG")
    page.wait_for_selector("#squad .row")
    squad = page.locator("#squad .row").count()
    team_matches = page.locator("#team-matches .row").count()
    trouble = page.trouble
    page.context.close()

    assert "3" in final_row and "4-2 pens" in final_row
    assert days == len({m.kickoff.date() for m in Match.objects.filter(competition=comp_2022)})
    assert any("Argentina" in r and "Saudi Arabia" in r for r in opening_day)
    assert group_c == ["ARG", "POL", "MEX", "KSA"] == recomputed_table(comp_2022, "Group C")
    assert "ARG" in final_fixture and "FRA" in final_fixture and "4-2 pens" in final_fixture
    assert squad >= 23 and team_matches >= 7  # 2022's seven, and 2026's
    assert not trouble


def recomputed_table(competition, group: str) -> list[str]:
    """A group's order recomputed from its results: points, goal difference, goals scored."""
    rows: dict[str, list[int]] = {}
    for m in Match.objects.filter(competition=competition, group=group).select_related(
        "home", "away"
    ):
        for team, mine, theirs in (
            (m.home, m.home_score, m.away_score),
            (m.away, m.away_score, m.home_score),
        ):
            row = rows.setdefault(team.code, [0, 0, 0])
            row[0] += 3 if mine > theirs else 1 if mine == theirs else 0
            row[1] += mine - theirs
            row[2] += mine
    return sorted(rows, key=lambda code: rows[code], reverse=True)


def test_the_bracket_fills_in_live_as_a_knockout_match_ends(browser, web):
    # The 2022 World Cup as it stood before its second semi-final: the final's home side is
    # known (Argentina), its away side is "Winner of match 62".
    worldcup_load(year=2022, as_of=dt.datetime(2022, 12, 14, 12, tzinfo=dt.UTC))
    semi = Match.objects.get(slug="fra-vs-mar-2022-12-14")
    page = phone_at(browser, f"{web.url}/#/t/{semi.competition.slug}/bracket")
    final = page.locator("#bracket .fixture").last
    page.wait_for_selector("#bracket .fixture")
    before = final.inner_text()
    play_through_feed(web, semi, [("FRA", 5), ("FRA", 79)])
    last = "[...document.querySelectorAll('#bracket .fixture')].pop()"
    page.wait_for_function(f"() => {last}.textContent.includes('FRA')", timeout=60_000)
    after = final.inner_text()
    semi_row = page.inner_text(f"#bracket [data-match='{semi.slug}']")
    trouble = page.trouble
    page.context.close()

    assert "ARG" in before and "FRA" not in before and "Winner" in before
    assert "ARG" in after and "FRA" in after
    assert "FRA" in semi_row and "2" in semi_row  # the semi's score, drawn live too
    assert not trouble


# ---- accessibility -------------------------------------------------------------------------------


def axe_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (the engine is
    evaluated over the DevTools protocol, so the page's CSP does not stop it)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(Path(os.environ["AXE_JS"]).read_text())
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => `${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)"
    )
    return found


def test_every_page_has_no_serious_or_critical_accessibility_violation(browser, web):
    from predictions.services import league_create

    worldcup_load(year=2022)
    replay, plan = final_replay(lead=3600)
    send_all(web, plan)  # line-ups, statistics and a whole match for the match centre
    fan = sign_up("ally")
    league = league_create(owner=fan, name="Access")
    page = phone_at(browser, f"{web.url}/")
    sign_in(page, web, fan)
    comp = replay.competition.slug
    routes = {
        "#/": "#list-done .row",
        f"#/m/{replay.slug}": "#score-h",
        f"#/t/{comp}/matches/2022-12-18": "#day-matches .row",
        f"#/t/{comp}/groups": "#groups table",
        f"#/t/{comp}/bracket": "#bracket .fixture",
        "#/team/ARG": "#squad .row",
        "#/boards": "#board",
        "#/leagues": "#create",
        f"#/league/{league.pk}": "#members .row",
        "#/alerts": "#prefs",
        "#/welcome": "#team-pick",
        f"#/rules/{replay.slug}": "h2",
        f"#/play/{comp}/day/2022-12-18": "#matchday fieldset",
        f"#/play/{comp}/picks": "#outrights",
        f"#/play/{comp}/history": "#history",
    }
    found = {}
    for route, ready in routes.items():
        page.goto(f"{web.url}/{route}")
        page.wait_for_selector(ready)
        found[route] = axe_violations(page)
    page.goto(f"{web.url}/#/m/{replay.slug}")
    for tab, ready in (("lineups", "#lineups .pitch"), ("stats", "#stats table")):
        page.click(f"#tab-{tab}")
        page.wait_for_selector(ready)
        found[f"match centre: {tab}"] = axe_violations(page)
    signed_out = phone_at(browser, f"{web.url}/#/signup")
    signed_out.wait_for_selector("#signup-form")
    found["#/signup"] = axe_violations(signed_out)
    signed_out.goto(f"{web.url}/#/signin")
    signed_out.wait_for_selector("#signin-form")
    found["#/signin"] = axe_violations(signed_out)
    trouble = page.trouble + signed_out.trouble
    page.context.close()
    signed_out.context.close()

    assert {route: v for route, v in found.items() if v} == {}
    assert not trouble


# ---- follows, push notifications, spoiler delay -----------------------------------------------


def test_a_fan_follows_a_match_and_the_page_says_why_no_push_here(phone, web):
    from notifications.models import Follow, Preferences

    fan = sign_up("flo")
    Preferences.objects.create(user=fan, delay=2)  # watches a broadcast 2 s behind
    replay, _ = final_replay(lead=3600)
    sign_in(phone, web, fan)
    phone.goto(f"{web.url}/#/m/{replay.slug}")
    phone.wait_for_selector("#delayed:text('Delayed 2 s')")
    # No permission prompt to wait on: the browser's answer decides what the page says.
    phone.context.grant_permissions(["notifications"], origin=web.url)
    phone.click("#follow")
    phone.wait_for_selector("#follow:text('Following')")

    follow = wait_until(lambda: Follow.objects.filter(user=fan, match=replay).first(), 10, "follow")
    assert follow.kinds  # the default kinds
    # The follow stands either way; the page says whether this browser gets pushes (headless
    # Chromium usually has no push service) and why not.
    phone.wait_for_function(
        "() => document.querySelector('#push-note').textContent !== ''", timeout=40_000
    )
    status, headers, body = fetch(f"{web.url}/sw.js")
    assert status == 200 and b"showNotification" in gzip_or_plain(headers, body)
    assert headers["cache-control"] == "no-cache"
    phone.click("#follow")
    phone.wait_for_selector("#follow:text('Follow ARG v FRA')")
    wait_until(lambda: not Follow.objects.filter(user=fan).exists(), 10, "unfollowed")


def test_sign_up_then_the_first_run_picks_a_team_and_explains_notifications(browser, web):
    from notifications.models import Follow

    final_replay(lead=3600)  # an upcoming ARG v FRA
    source = Match.objects.filter(kickoff__year=2022).exclude(home__code="ARG")
    source = source.exclude(away__code="ARG").select_related("home", "away").first()
    other = simulator.replay_create(source=source, lead_seconds=1800)  # kicks off first
    phone = phone_at(browser, f"{web.url}/#/signin")
    phone.click("#to-signup")
    phone.fill("#signup-form input[name=username]", "newfan")
    phone.fill("#signup-form input[name=password]", "password")  # too common
    phone.click("#signup-form button")
    phone.wait_for_selector("#signup-msg:text('password')")
    assert not User.objects.filter(username="newfan").exists()
    phone.fill("#signup-form input[name=password]", "a long enough secret")
    phone.click("#signup-form button")

    phone.wait_for_selector("text=Welcome, newfan")
    phone.wait_for_selector("text=Sign out newfan")
    phone.fill("#team-search", "argen")
    assert phone.locator(".team-choice:visible").count() == 1
    shot(phone, "first-run")
    phone.click(".team-choice[data-team=ARG]")
    phone.wait_for_selector("#allow-push")
    fan = User.objects.get(username="newfan")
    assert Follow.objects.filter(user=fan, team__code="ARG").exists()
    phone.context.grant_permissions(["notifications"], origin=web.url)
    phone.click("#allow-push")
    phone.wait_for_function(
        "() => document.querySelector('#welcome-msg').textContent !== ''", timeout=40_000
    )
    phone.click("#welcome-done")
    first = phone.wait_for_selector("#list-soon .row")  # kicks off after `other`, yet first
    assert "Argentina" in first.text_content() and "fav" in first.get_attribute("class")
    assert phone.locator(f"#list-soon .row[data-slug='{other.slug}']").count() == 1
    assert not phone.trouble
    phone.context.close()


def test_alerts_name_each_follow_toggle_kinds_and_unfollow(phone, web):
    from matches.models import Team
    from notifications.models import Follow
    from notifications.services import follow_set

    fan = sign_up("tess")
    replay, _ = final_replay(lead=3600)
    follow_set(user=fan, team=Team.objects.get(code="ARG"), match=None, kinds=None)
    follow_set(user=fan, team=None, match=replay, kinds=["goal"])
    sign_in(phone, web, fan)
    phone.goto(f"{web.url}/#/alerts")
    phone.wait_for_selector("#follows [data-follow]")
    legends = phone.locator("#follows legend").all_inner_texts()
    team_row = "#follows fieldset:has(legend:text('Argentina'))"
    phone.uncheck(f"{team_row} input[name=goal]")
    phone.wait_for_selector("#alerts-msg:text('Saved.')")
    shot(phone, "alerts")
    team_follow = Follow.objects.get(user=fan, team__code="ARG")
    match_row = "#follows fieldset:has(legend:text('Argentina v France'))"
    phone.click(f"{match_row} button.unfollow")
    phone.wait_for_selector("#alerts-msg:text('Unfollowed')")

    assert [t.strip() for t in legends] == ["Argentina", "Argentina v France"]
    from notifications.kinds import names_of

    assert "goal" not in names_of(team_follow.kinds) and "kickoff" in names_of(team_follow.kinds)
    assert not Follow.objects.filter(user=fan, match=replay).exists()


def test_a_fan_sets_quiet_hours_and_a_spoiler_delay(phone, web):
    from notifications.models import Preferences

    fan = sign_up("quinn")
    sign_in(phone, web, fan)
    phone.goto(f"{web.url}/#/alerts")
    phone.fill("#prefs input[name=timezone]", "America/Sao_Paulo")
    phone.fill("#prefs input[name=quiet_from]", "23:30")
    phone.fill("#prefs input[name=quiet_to]", "07:00")
    phone.fill("#prefs input[name=delay]", "45")
    phone.click("#prefs button")
    phone.wait_for_selector("#alerts-msg:text('Saved.')")

    prefs = Preferences.objects.get(user=fan)
    assert (prefs.timezone, str(prefs.quiet_from), str(prefs.quiet_to)) == (
        "America/Sao_Paulo", "23:30:00", "07:00:00",
    )  # fmt: skip
    assert prefs.delay == 45
    assert phone.evaluate("window.livescore.conn.delay") == 45
    phone.fill("#prefs input[name=timezone]", "Mars/Olympus")
    phone.click("#prefs button")
    phone.wait_for_selector("#alerts-msg.err")  # the server's reason, shown


def gzip_or_plain(headers: dict[str, str], body: bytes) -> bytes:
    return gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body


# ---- the fan's screen is always right: liveness, tabs, the clock, the lock ------------------
# Bounds, as docs/protocol.md ("Liveness") states them: silent for 15 s, the page can no
# longer vouch; its watchdog looks every second; one reconnect brings the truth back.
STALE_BOUND = 15 + 1
RECOVERY_BOUND = 20


def phone_at(browser, url: str, context=None):
    """A phone page that records every uncaught error and every 404 it sees."""
    context = context or browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.trouble = []
    page.add_init_script(
        "addEventListener('securitypolicyviolation', (e) =>"
        " console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`))"
    )
    page.on("console", lambda m: "CSP violation" in m.text and page.trouble.append(m.text))
    page.on("pageerror", lambda err: page.trouble.append(f"error: {err}"))
    page.on("response", lambda r: r.status == 404 and page.trouble.append(f"404: {r.url}"))
    page.goto(url)
    return page


def shown_score(page) -> tuple[int, int]:
    return int(page.inner_text("#score-h")), int(page.inner_text("#score-a"))


def until_pens(page, timeout: int = 60_000) -> None:
    page.wait_for_function(
        "() => document.querySelector('#status')?.textContent === 'FT · pens 4-2'", timeout=timeout
    )


def test_a_frozen_connection_leaves_live_within_the_bound_and_recovers_the_truth(browser, web):
    from tests.integration.netproxy import proxy_to

    replay, plan = final_replay()
    first_goal = next(i for i, p in enumerate(plan) if p.event.get("kind") == "goal")
    with proxy_to(web.port) as net:
        page = phone_at(browser, f"{net.url}/#/m/{replay.slug}")
        page.wait_for_selector("#conn[data-state=live]")
        send_all(web, plan[: first_goal + 1])
        page.wait_for_function("() => document.querySelector('#score-h').textContent === '1'")
        net.freeze()  # a tunnel: no packet either way, no close ...
        net.refuse()  # ... and no new connection either, until the tunnel ends
        frozen = time.time()
        send_all(web, plan[first_goal + 1 :])  # the rest of the final, unseen
        page.wait_for_timeout(3000)
        still_live = page.get_attribute("#conn", "data-state")
        page.wait_for_function(
            "() => window.livescore.conn.log.some(([s]) => s === 'stale')", timeout=30_000
        )
        log = page.evaluate("window.livescore.conn.log")
        stale_after = next(at for s, at in log if s == "stale") / 1000 - frozen
        marked = page.is_visible("#stale-note")  # the score says it is not current
        dimmed = page.eval_on_selector(".score", "e => getComputedStyle(e).opacity")
        net.restore()
        restored = time.time()
        until_pens(page, timeout=RECOVERY_BOUND * 1000)
        recovered_after = time.time() - restored
        page.wait_for_selector("#conn[data-state=live]")
        truth = rest_score(web, replay.slug)
        trouble = page.trouble
        page.context.close()

    print(f"frozen: stale after {stale_after:.1f} s, the truth {recovered_after:.1f} s after")
    assert still_live == "live"  # no false alarm on a connection that is merely quiet
    assert stale_after <= STALE_BOUND + 2
    assert marked and float(dimmed) < 1
    assert recovered_after <= RECOVERY_BOUND
    assert truth == (3, 3) and not trouble


def test_two_tabs_of_one_fan_both_follow_every_goal_to_the_end(browser, web):
    fan = sign_up("tabby")
    replay, plan = final_replay()
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
    first = phone_at(browser, f"{web.url}/#/signin", context)
    sign_in(first, web, fan)
    first.goto(f"{web.url}/#/m/{replay.slug}")
    second = phone_at(browser, f"{web.url}/#/m/{replay.slug}", context)  # same storage
    for page in (first, second):
        page.wait_for_selector("#conn[data-state=live]")
    devices = [p.evaluate("window.livescore.device") for p in (first, second)]

    half = len(plan) // 2
    send_all(web, plan[:half])
    second.wait_for_timeout(1000)
    send_all(web, plan[half:])
    for page in (first, second):
        until_pens(page)

    assert devices[0] != devices[1]
    for page in (first, second):
        assert page.get_attribute("#conn", "data-state") == "live"
        assert shown_score(page) == (3, 3) and not page.trouble
    context.close()


def test_the_clock_ticks_between_events_from_the_servers_time(browser, web):
    from matches.live import match_rebuild
    from matches.models import EventKind, MatchEvent

    replay, _ = final_replay()
    match_change_status(match=replay, status=MatchStatus.FIRST_HALF)
    # The kick-off was 9 min 57 s ago: the clock must roll from 10' to 11' by itself.
    started = django_now() - dt.timedelta(seconds=597)
    MatchEvent.objects.filter(match=replay, kind=EventKind.KICKOFF).update(created_at=started)
    match_rebuild(Match.objects.select_related("home", "away").get(pk=replay.pk))

    page = phone_at(browser, f"{web.url}/#/m/{replay.slug}")
    page.wait_for_function("() => document.querySelector('#status')?.textContent === \"10'\"")
    page.wait_for_function(
        "() => document.querySelector('#status')?.textContent === \"11'\"", timeout=15_000
    )
    seen = set()
    for _ in range(5):
        page.wait_for_timeout(200)
        seen.add(page.inner_text("#status"))
    # The clock's rule at the edges of periods, by the page's own function.
    shown = page.evaluate(
        """() => { const f = window.livescore.minute, t = 1e12;
        return [f({st: 'first_half', pa: t / 1000 - 46.5 * 60, pm: 0, m: 3}, t),
                f({st: 'second_half', pa: t / 1000 - 48.5 * 60, pm: 45, m: 80}, t),
                f({st: 'extra_time', pa: t / 1000 - 14.2 * 60, pm: 90}, t),
                f({st: 'first_half', pa: t / 1000, pm: 0, m: 0}, t),
                f({st: 'half_time', m: 45}, t), f({st: 'penalties', m: 120}, t)]; }"""
    )
    page.context.close()

    assert not any("undefined" in s or "NaN" in s for s in seen), seen
    assert shown == ["45+2'", "90+4'", "ET 105'", "1'", "HT", "Pens"]


def test_an_early_kick_off_locks_the_forms_within_seconds(browser, web):
    fan = sign_up("early")
    replay, _ = final_replay(lead=3600)
    page = phone_at(browser, f"{web.url}/#/signin")
    sign_in(page, web, fan)
    page.goto(f"{web.url}/#/m/{replay.slug}")
    page.wait_for_selector("form[data-kind=score] input[name=home_goals]", timeout=60_000)
    page.wait_for_selector("#lock:text('Locks in')")
    assert page.locator("form[data-kind=score] button").is_enabled()

    match_change_status(match=replay, status=MatchStatus.FIRST_HALF)  # the operator, early
    kicked = time.monotonic()
    page.wait_for_selector("form[data-kind=score] button[disabled]", timeout=10_000)
    locked_after = time.monotonic() - kicked

    assert page.inner_text("#lock") == "Predictions are locked."  # no countdown left
    assert page.locator("form[data-kind=winner] select").is_disabled()
    assert locked_after < 5 and not page.trouble
    page.context.close()


def test_the_list_moves_at_kick_off_and_shows_the_shootout_result(browser, web):
    replay, plan = final_replay(lead=3600)
    page = phone_at(browser, f"{web.url}/#/")
    row = f"a[data-slug='{replay.slug}']"
    page.wait_for_selector(f"#list-soon {row}")

    kickoff = next(i for i, p in enumerate(plan) if p.event.get("status") == "first_half") + 1
    send_all(web, plan[:kickoff])  # the line-ups, then kick-off
    page.wait_for_selector(f"#list-live {row}")
    send_all(web, plan[kickoff:])
    page.wait_for_selector(f"#list-done {row} .st:text('4-2 pens')")

    assert page.locator(f"#list-live {row}").count() == 0
    assert page.inner_text(f"#list-done {row} .st") == "FT · 4-2 pens"
    assert not page.trouble
    page.context.close()


def test_a_late_joiner_sees_the_watchers_timeline_and_nothing_fails_in_a_replay(browser, web):
    replay, plan = final_replay()
    watcher = phone_at(browser, f"{web.url}/#/m/{replay.slug}")
    watcher.wait_for_selector("#conn[data-state=live]")
    send_all(web, plan)
    until_pens(watcher)
    late = phone_at(browser, f"{web.url}/#/m/{replay.slug}")
    until_pens(late)
    late.wait_for_function(
        f"() => document.querySelectorAll('#timeline li').length === "
        f"{watcher.locator('#timeline li').count()}"
    )
    rest = web.get_json(f"/api/v1/matches/{replay.slug}/timeline/")["ev"]

    lines = [p.locator("#timeline li").all_inner_texts() for p in (watcher, late)]
    assert lines[0] == lines[1] and len(lines[0]) == len(rest)
    assert any("Half time" in line for line in lines[1]) and "Kick-off" in lines[1][-1]
    assert not watcher.trouble and not late.trouble, watcher.trouble + late.trouble
    watcher.context.close()
    late.context.close()


def test_only_picked_kinds_show_as_picked_and_points_per_pick_after_settlement(browser, web):
    from predictions.models import Prediction

    fan = sign_up("pickr")
    replay, plan = final_replay(lead=3600)
    page = phone_at(browser, f"{web.url}/#/signin")
    sign_in(page, web, fan)
    page.goto(f"{web.url}/#/m/{replay.slug}")
    form = page.locator("form[data-kind=score]")
    form.locator("input[name=home_goals]").fill("3", timeout=60_000)
    form.locator("input[name=away_goals]").fill("3")
    form.locator("button").click()
    page.wait_for_selector("[data-pick=score]:text('Your pick: 3-3')")
    page.select_option("form[data-kind=winner] select", "D")
    page.click("form[data-kind=winner] button")
    page.wait_for_selector("[data-pick=winner]:text('Your pick: Draw')")
    unpicked = [page.inner_text(f"[data-pick={k}]") for k in ("first_scorer", "possession")]
    chosen = [
        page.eval_on_selector(f"form[data-kind={k}] select", "s => s.value")
        for k in ("first_scorer", "possession")
    ]

    send_all(web, plan)
    wait_until(
        lambda: Prediction.objects.filter(user=fan, status="settled").count() == 2, 60, "settled"
    )
    page.reload()
    page.wait_for_selector("[data-pick=score] .pts")
    score_line, winner_line = (
        page.inner_text("[data-pick=score]"),
        page.inner_text("[data-pick=winner]"),
    )
    page.goto(f"{web.url}/#/rules/{replay.slug}")
    shootout_rule = page.inner_text("#rules-shootout")
    trouble = page.trouble
    page.context.close()

    assert unpicked == ["Not picked yet.", "Not picked yet."] and chosen == ["", ""]
    assert "10 pts (exact score)" in score_line
    assert "0 pts (wrong (the shootout decides the winner))" in winner_line
    assert "the team that wins the shootout is the winner" in shootout_rule
    assert not trouble


def test_boards_being_rebuilt_are_retried_after_retry_after_not_shown_as_an_error(browser, web):
    from core.redis import client as redis_client

    redis_client().flushdb()  # Redis lost the boards: the first read answers 503
    page = phone_at(browser, "about:blank")
    statuses = []
    page.on("response", lambda r: "leaderboards" in r.url and statuses.append(r.status))
    page.goto(f"{web.url}/#/boards")
    page.wait_for_selector("#board", timeout=30_000)

    assert statuses[0] == 503 and statuses[-1] == 200
    assert page.locator("#view .err").count() == 0
    page.context.close()


def test_the_page_has_a_strict_csp_that_stops_an_injected_script(browser, web):
    _, headers, _ = fetch(f"{web.url}/")
    policy = dict(
        part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";")
    )
    page = phone_at(browser, f"{web.url}/#/")
    page.wait_for_selector("#conn[data-state=live]")
    page.evaluate(
        """() => { const s = document.createElement('script');
        s.textContent = 'window.injected = 1'; document.body.append(s); }"""
    )
    page.wait_for_timeout(300)

    assert policy["script-src"] == "'self'" and policy["object-src"] == "'none'"
    assert "ws://" in policy["connect-src"] and "'unsafe-inline'" not in str(policy)
    assert page.evaluate("window.injected") is None  # refused by the policy
    assert any("script-src" in t for t in page.trouble)  # and reported as a violation
    page.context.close()


def test_a_fan_reacts_to_a_goal_and_its_share_link_opens_the_card(browser, web):
    """Reactions in the browser over the socket (the fan's tap shown, confirmed, kept after a
    reload, counted on REST), taken back by a second tap; the goal's share link resolves to
    its card page, whose app link opens the match at the goal."""
    fan = sign_up("rosa")
    _, (match, *_) = a_cup_day([-10])
    play_through_feed(web, match, [("ARG", 23)])
    wait_until(lambda: rest_score(web, match.slug) == (1, 0), 30, "the goal recorded")
    goal = next(e for e in web.get_json(f"/api/v1/matches/{match.slug}/timeline/")["ev"]
                if e["t"] == "goal")  # fmt: skip
    page = phone_at(browser, f"{web.url}/")
    sign_in(page, web, fan)
    page.goto(f"{web.url}/#/m/{match.slug}")
    fire = page.locator(f"[data-rx='tl:{goal['seq']}:fire']")
    fire.click()
    page.wait_for_function(
        "(sel) => document.querySelector(sel).getAttribute('aria-pressed') === 'true'"
        " && document.querySelector(sel).textContent === '1'",
        arg=f"[data-rx='tl:{goal['seq']}:fire']",
    )
    moments = web.get_json(f"/api/v1/matches/{match.slug}/reactions/")
    assert [(m["seq"], m["counts"]) for m in moments if m["counts"]] == [(goal["seq"], {"fire": 1})]
    # After a reload, read back from the server; under the big score, the latest moment
    # (full time here) has its own buttons.
    page.reload()
    page.wait_for_selector(f"[data-rx='tl:{goal['seq']}:fire'][aria-pressed=true]")
    assert page.locator("#latest-rx [data-rx$=':share']").count() == 1
    page.locator(f"[data-rx='tl:{goal['seq']}:fire']").click()  # a second tap takes it back
    reactions_path = f"/api/v1/matches/{match.slug}/reactions/"
    wait_until(lambda: all(not m["counts"] for m in web.get_json(reactions_path)), 10, "taken back")

    status, _, body = fetch(f"{web.url}/share/{match.slug}/{goal['seq']}/")  # redirects
    card = body.decode()
    assert status == 200 and 'property="og:image"' in card and "GOAL ARG" in card
    app_link = re.search(r'id="open" href="([^"]+)"', card).group(1)
    page.goto(app_link.replace("http://testserver", web.url))
    page.wait_for_selector(f"#timeline li.here[data-seq='{goal['seq']}']")
    assert page.trouble == []
    page.context.close()
