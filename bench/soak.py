"""A soak: the demo's traffic for a long while, with socket churn, chat and REST, watching
every server process for what a leak looks like (RSS, open file descriptors, open sockets
and asyncio tasks that keep growing).

The real stack on 127.0.0.1 (a uvicorn web process, a Celery worker, PostgreSQL, Redis).
While the 2022 final is replayed through the signed feed, again and again, `--clients`
fans come and go: each visit connects, subscribes to the match (half of them resuming
with `since`), reads the REST match page, and ends one way of four: a polite close, an
abrupt one (the TCP connection reset), a half-open one (the client goes silent and never
closes: the server's idle timeout must reap it), or a signed-in fan saying something in
the match's chat first. Every 5 s each server process's RSS and open file descriptors
are sampled, with the gateway's open sockets and asyncio tasks (/metrics).

After the churn the fans leave; once the idle timeout has passed, the sockets, tasks and
descriptors must be back near where they were before it (`settled`), and the RSS slope over
the second half of the churn says whether memory still grows once warm.

    bash scripts/bench.sh bench/soak.py                 # 20 minutes
    bash scripts/bench.sh bench/soak.py --minutes 3     # the suite's length
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")

import django  # noqa: E402

django.setup()

from websockets.asyncio.client import connect  # noqa: E402

from bench.stack import LocalStack  # noqa: E402

SAMPLE_SECONDS = 5.0
ENDINGS = ("close", "reset", "half-open", "chat")


@dataclass
class Sample:
    at: float  # seconds since the soak began
    rss_mib: dict[int, float]
    fds: dict[int, int]
    kinds: dict[int, dict[str, int]]  # each process's descriptors by kind (`descriptors`)
    sockets: float
    tasks: float


@dataclass
class Tally:
    visits: int = 0
    failed: int = 0
    throttled: int = 0  # visits whose REST reads were answered 429 (one address for all)
    errors: dict[str, int] = field(default_factory=dict)  # failed visits by exception
    endings: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENDINGS, 0))
    half_open: list = field(default_factory=list)  # sockets left silent, closed at the end


# Connection pools keep what they opened at their busiest (a psycopg pool up to its
# max_size, redis-py's pools for good): descriptors that plateau, not a leak. They are told
# apart from the rest by the server they lead to.
POOLED = ("postgres", "redis")


def servers() -> dict[int, str]:
    """The ports of the servers the processes keep pools to: PostgreSQL and every Redis."""
    from urllib.parse import urlsplit

    from django.conf import settings

    ports = {int(settings.DATABASES["default"]["PORT"] or 5432): "postgres"}
    for url in [settings.REDIS_URL, settings.REDIS_LEADERBOARD_URL, *settings.REDIS_LIVE_URLS]:
        ports[urlsplit(url).port or 6379] = "redis"
    return ports


def tcp_peers() -> dict[str, int]:
    """Socket inode -> its peer's port, for every TCP socket on the machine."""
    peers = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                peers[fields[9]] = int(fields[2].rsplit(":", 1)[1], 16)
    return peers


def descriptors(pid: int, peers: dict[str, int], ports: dict[int, str]) -> dict[str, int]:
    """A process's open descriptors by kind: its pooled connections ("postgres", "redis"),
    its other sockets (clients, listeners, pub/sub) and the rest (files, pipes, eventfds)."""
    kinds: dict[str, int] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            kind = "other"
            if target.startswith("socket:["):
                kind = ports.get(peers.get(target[8:-1], -1), "sockets")
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def proc_figures(pid: int) -> tuple[float, int]:
    """(RSS in MiB, open file descriptors) of a process, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    return rss / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def family(pids: list[int]) -> list[int]:
    """The processes and their children (a Celery worker's pool)."""
    found = list(pids)
    for pid in pids:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        found += family([int(c) for c in children])
    return sorted(set(found))


def gauge(metrics: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def sample(web: str, token: str, pids: list[int], began: float) -> Sample:
    request = urllib.request.Request(f"{web}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    rss, fds, kinds = {}, {}, {}
    peers, ports = tcp_peers(), servers()
    for pid in family(pids):
        try:
            rss[pid], fds[pid] = proc_figures(pid)
            kinds[pid] = descriptors(pid, peers, ports)
        except (OSError, StopIteration):
            continue
    return Sample(
        round(time.monotonic() - began, 1), rss, fds, kinds,
        gauge(text, "livescore_ws_sockets"), gauge(text, "livescore_ws_tasks"),
    )  # fmt: skip


async def visit(stack: LocalStack, token: str, tally: Tally) -> None:
    """One fan's visit to the match being replayed now, ending one of four ways."""
    ws_url, web, slug, room = stack.ws_url, stack.web, stack.slug, stack.room
    ending = random.choice(ENDINGS)
    url = ws_url + (f"?token={token}" if ending == "chat" else "")
    ws = await connect(url, origin=web, open_timeout=10)  # type: ignore[arg-type]  # the page's own
    since = random.choice((None, 1))
    sub = {"op": "sub", "ch": f"match:{slug}"} | ({"since": since} if since else {})
    await ws.send(json.dumps(sub))
    await asyncio.wait_for(ws.recv(), 10)
    if not await asyncio.to_thread(rest_read, web, slug):
        tally.throttled += 1
    if ending == "chat":
        await ws.send(json.dumps({"op": "sub", "ch": f"chat:room:{room}"}))
        text, cid = f"soak {random.random():.6f}", f"s{tally.visits}"
        await ws.send(
            json.dumps({"op": "say", "ch": f"chat:room:{room}", "text": text, "cid": cid})
        )
    await asyncio.sleep(random.uniform(0.5, 4.0))
    if ending == "half-open":
        ws.transport.pause_reading()  # silent from here: neither reads nor pings nor closes
        tally.half_open.append(ws)
    elif ending == "reset":
        ws.transport.abort()
    else:
        await ws.close()
    tally.endings[ending] += 1


def rest_read(web: str, slug: str) -> bool:
    """The match page's REST reads; False when the server throttled them (every fan of the
    soak comes from 127.0.0.1, one address: a 429 with Retry-After is the server's answer)."""
    for path in (f"/api/v1/matches/{slug}/", "/api/v1/matches/?status=live"):
        try:
            with urllib.request.urlopen(web + path, timeout=10) as response:
                response.read()
        except urllib.error.HTTPError as error:
            if error.code != 429 or not error.headers.get("Retry-After"):
                raise
            return False
    return True


async def churn(
    stack: LocalStack, tokens: list[str], clients: int, until: float, tally: Tally
) -> None:
    async def fan() -> None:
        while time.monotonic() < until:
            tally.visits += 1
            try:
                await visit(stack, random.choice(tokens), tally)
            except Exception as error:  # noqa: BLE001 - counted, the soak goes on
                tally.failed += 1
                name = f"{type(error).__name__}: {str(error)[:60]}"
                tally.errors[name] = tally.errors.get(name, 0) + 1
                await asyncio.sleep(1.0)

    await asyncio.gather(*(fan() for _ in range(clients)))


def fan_tokens(count: int) -> list[str]:
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    users = [User.objects.get_or_create(username=f"soak-fan-{n}")[0] for n in range(count)]
    return [Token.objects.get_or_create(user=user)[0].key for user in users]


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (units per minute)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points) or 1.0
    return 60 * sum((x - mx) * (y - my) for x, y in points) / var


def summary(samples: list[Sample], churn_start: float, before: Sample) -> dict:
    """Each process's RSS and descriptors before and after, and their slopes over the second
    half of the churn (the settling samples left out)."""
    after = samples[-1]
    churn_end = samples[-2].at if len(samples) > 1 else after.at
    warm = [s for s in samples if (churn_start + churn_end) / 2 <= s.at <= churn_end]
    per_process = {}
    for pid in sorted(before.rss_mib):
        per_process[pid] = {
            "rss_mib": [round(before.rss_mib[pid], 1), round(after.rss_mib.get(pid, 0), 1)],
            "rss_slope_mib_per_min": round(slope([(s.at, s.rss_mib.get(pid, 0)) for s in warm]), 3),
            "fds": [before.fds[pid], after.fds.get(pid, 0)],
            "fds_slope_per_min": round(slope([(s.at, s.fds.get(pid, 0)) for s in warm]), 2),
            "fds_by_kind": {
                kind: [before.kinds[pid].get(kind, 0), after.kinds.get(pid, {}).get(kind, 0),
                       round(slope([(s.at, s.kinds.get(pid, {}).get(kind, 0)) for s in warm]), 2)]
                for kind in sorted(set(before.kinds[pid]) | set(after.kinds.get(pid, {})))
            },  # kind: [before, after, slope per minute over the warm half]
        }  # fmt: skip
    return {
        "processes": per_process,
        "sockets": [before.sockets, max(s.sockets for s in samples), after.sockets],
        "tasks": [before.tasks, max(s.tasks for s in samples), after.tasks],
    }


def settled(samples: list[Sample], before: Sample, after: Sample, fd_slack: int = 8,
            task_slack: int = 16, pool_slope: float = 1.0) -> list[str]:  # fmt: skip
    """What did not come back after the churn: empty when nothing leaked. Client sockets,
    files and pipes must be back where they were; pooled connections may stay at their
    high-water mark but must have stopped growing over the churn's second half."""
    problems = []
    if after.sockets > before.sockets:
        problems.append(f"sockets {before.sockets} -> {after.sockets}")
    if after.tasks > before.tasks + task_slack:
        problems.append(f"tasks {before.tasks} -> {after.tasks}")
    warm = samples[len(samples) // 2 : -1]
    for pid, kinds in before.kinds.items():
        if pid not in after.kinds:
            continue
        for kind, now in after.kinds[pid].items():
            was = kinds.get(kind, 0)
            if kind in POOLED:
                grew = slope([(s.at, s.kinds.get(pid, {}).get(kind, 0)) for s in warm])
                if grew > pool_slope:
                    problems.append(f"pid {pid} {kind} connections grow {grew:.1f}/min")
            elif now > was + fd_slack:
                problems.append(f"pid {pid} {kind} descriptors {was} -> {now}")
    return problems


def soak(stack: LocalStack, *, minutes: float, clients: int, idle_timeout: float,
         metrics_token: str, replay_speed: float = 60.0, warmup: float = 20.0) -> dict:  # fmt: skip
    """Run the soak against a running stack; returns the report (see `summary`).

    A short warm-up churn comes first, so the baseline is a warm server (its connection
    pools filled), measured once the warm-up's sockets are gone; the churn's figures are
    compared with it after the same settling."""
    tokens = fan_tokens(20)
    stop_feed = threading.Event()
    threading.Thread(
        target=stack.replay_forever, args=(replay_speed, stop_feed), daemon=True
    ).start()
    while not stack.room:  # the first replay created
        time.sleep(0.2)
    began = time.monotonic()
    samples: list[Sample] = []
    tally = Tally()

    def take() -> Sample:
        samples.append(sample(stack.web, metrics_token, stack.pids, began))
        return samples[-1]

    async def churn_then_settle(seconds: float) -> None:
        until = time.monotonic() + seconds
        work = asyncio.create_task(churn(stack, tokens, clients, until, tally))
        while not work.done():
            await asyncio.sleep(SAMPLE_SECONDS)
            now = await asyncio.to_thread(take)
            print(f"[soak] {now.at:.0f}s sockets={now.sockets:.0f} tasks={now.tasks:.0f} "
                  f"visits={tally.visits}", flush=True)  # fmt: skip
        await work
        # The half-open ones are reaped by the server's idle timeout (and a sweep), not by us.
        await asyncio.sleep(idle_timeout + 2 * SAMPLE_SECONDS + 2)
        for ws in tally.half_open:
            ws.transport.abort()
        tally.half_open.clear()
        await asyncio.sleep(2)

    asyncio.run(churn_then_settle(warmup))
    before = take()
    churn_start = before.at
    asyncio.run(churn_then_settle(minutes * 60))
    stop_feed.set()
    after = take()
    report = summary([s for s in samples if s.at >= churn_start], churn_start, before)
    report |= {
        "minutes": minutes, "clients": clients, "visits": tally.visits, "failed": tally.failed,
        "throttled": tally.throttled, "errors": tally.errors, "endings": tally.endings,
        "leaks": settled([s for s in samples if s.at >= churn_start], before, after),
        "samples": [vars(s) for s in samples],
    }  # fmt: skip
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=100, help="fans visiting at once")
    parser.add_argument("--idle-timeout", type=int, default=15, help="the server's WS_IDLE_TIMEOUT")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    token = "soak-metrics-token"
    logs = Path(tempfile.mkdtemp(prefix="soak-"))
    env = {"WS_IDLE_TIMEOUT": str(args.idle_timeout), "METRICS_TOKEN": token,
           "PROMETHEUS_MULTIPROC_DIR": str(logs / "prometheus")}  # fmt: skip
    with LocalStack(logs, env) as stack:
        report = soak(stack, minutes=args.minutes, clients=args.clients,
                      idle_timeout=args.idle_timeout, metrics_token=token)  # fmt: skip
    samples = report.pop("samples")
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report | {"samples": samples}, indent=2))
    print("leaks: none" if not report["leaks"] else f"leaks: {report['leaks']}")


if __name__ == "__main__":
    main()
