"""Goal fan-out benchmark: livescore on Daphne and uvicorn, the stock Channels pattern, and a
pure-asyncio `websockets` floor, all in one run on 127.0.0.1.

For each variant it starts a throwaway Redis and the server processes, opens N WebSocket
clients spread over several client processes, subscribes each to one match channel, then
publishes single goals and a burst (10 goals in 1 s) the way that variant publishes, and
reports connect time, delivery latency (p50/p99/max, from just before PUBLISH to receipt),
lost frames and server RSS per idle socket. Everything is bounded and stops by itself.

    .venv/bin/python bench/fanout.py                      # 10,000 sockets, every variant
    .venv/bin/python bench/fanout.py --sockets 20000 --variants livescore-uvicorn
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")

from bench.common import (  # noqa: E402 - needs the project root on sys.path
    Variant,
    percentile,
    rss_kib,
    server_pids,
    start_servers,
    stop,
    to_ms,
    wait_port,
    write_json,
)
from core.net import free_port  # noqa: E402

SLUG = "bench-vs-mark-2026-06-01"
CHANNEL = f"match:{SLUG}"
ORIGIN = "http://127.0.0.1:8000"
VARIANTS = ["floor", "livescore-uvicorn", "livescore-daphne", "stock-daphne"]
# Also available: livescore-uvicorn-nometrics, the same server with every metric switched off
# (METRICS_ENABLED=0): the baseline of the instrumentation's overhead.


def goal_frame(seq: int) -> dict:
    return {"ch": CHANNEL, "t": "goal", "seq": seq, "d": {"tm": "BEN", "m": seq, "s": [seq, 0]}}


# ---- client processes ----------------------------------------------------------------------


def client_main(urls: list[str], count: int, ready, commands, results) -> None:
    from bench.loadclient import run_client

    run_client(_client(urls, count, ready, commands, results))


async def _client(urls: list[str], count: int, ready, commands, results) -> None:
    from bench.loadclient import open_socket

    first = json.dumps({"op": "sub", "ch": CHANNEL}).encode()
    gate = asyncio.Semaphore(100)  # connects in flight per client process
    sockets: list = [None] * count

    async def open_one(index: int) -> None:
        async with gate:
            try:
                sockets[index] = await open_socket(urls[index % len(urls)], ORIGIN, first, 120)
            except (OSError, TimeoutError):
                pass

    started = time.time()
    await asyncio.gather(*(open_one(i) for i in range(count)))
    opened = [s for s in sockets if s is not None]
    ready.put((len(opened), count - len(opened), time.time() - started))
    await asyncio.get_running_loop().run_in_executor(None, commands.get)  # "stop"
    results.put([s.received for s in opened])
    for s in opened:
        s.close()


# ---- server variants -----------------------------------------------------------------------


# ---- publishing, the way each variant publishes -------------------------------------------


class Publisher:
    def __init__(self, name: str, redis_url: str) -> None:
        import django

        django.setup()
        import redis

        self.name = name
        self.redis = redis.Redis.from_url(redis_url)
        if name.startswith("stock"):
            from channels_redis.core import RedisChannelLayer

            self.layer = RedisChannelLayer(hosts=[redis_url])
            self.loop = asyncio.new_event_loop()

    def prepare(self) -> None:
        """The snapshot a livescore gateway serves on `sub` (as the score worker leaves it)."""
        from realtime import publish
        from realtime.frames import Frame

        snap = Frame(CHANNEL, "snap", {"h": "BEN", "a": "MAR"})
        publish.replace_state(publish.LiveState(SLUG, 0, snap, live=False, kickoff=0), [])

    def publish(self, seq: int) -> float:
        """Publish goal `seq`; returns the wall time just before it left."""
        from realtime.frames import Frame, encode

        frame = goal_frame(seq)
        sent_at = time.time()
        if self.name == "floor":
            self.redis.publish(f"rt:{CHANNEL}", encode(frame))
        elif self.name.startswith("stock"):
            from gateway.stock import group_name

            message = {"type": "frame", "data": frame}
            self.loop.run_until_complete(self.layer.group_send(group_name(CHANNEL), message))
        else:
            from realtime import publish

            wire = Frame(CHANNEL, frame["t"], frame["d"], seq=seq)
            state = publish.LiveState(SLUG, seq, wire, live=True, kickoff=0)
            publish.publish_now(wire, state=state)
        return sent_at


# ---- one variant ---------------------------------------------------------------------------


def run_variant(name: str, args: argparse.Namespace, redis_url: str, logs: Path) -> dict:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DEBUG": "1",
        "WS_STOCK_ENDPOINT": "1",
        "WS_IDLE_TIMEOUT": "3600",
        "LOG_LEVEL": "WARNING",
        # The servers read live state from Redis only; a database is configured, never used.
        "DATABASE_URL": "postgres://bench@127.0.0.1:1/unused",
    }
    if name.endswith("-nometrics"):
        env["METRICS_ENABLED"] = "0"
    elif name.startswith("livescore"):
        # Metrics as deployed: every process writes into one multiprocess directory.
        metrics_dir = Path(tempfile.mkdtemp(prefix="metrics-", dir=logs))
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    publisher = Publisher(name, redis_url)
    publisher.redis.flushdb()
    publisher.prepare()
    variant = start_servers(name, args.servers, env, logs, CHANNEL)
    try:
        time.sleep(1.0)
        idle_rss = sum(rss_kib(pid) for pid in server_pids(variant))
        outcome = drive_clients(variant, args, publisher)
        outcome["rss_per_socket_kib"] = (outcome.pop("loaded_rss") - idle_rss) / max(
            1, outcome["connected"]
        )
        return outcome
    finally:
        stop(variant)


def drive_clients(variant: Variant, args: argparse.Namespace, publisher: Publisher) -> dict:
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    commands = [ctx.Queue() for _ in range(args.clients)]
    per_client = [args.sockets // args.clients] * args.clients
    per_client[0] += args.sockets - sum(per_client)
    procs = [
        ctx.Process(target=client_main, args=(variant.urls, n, ready, cmd, results))
        for n, cmd in zip(per_client, commands, strict=True)
    ]
    started = time.time()
    for proc in procs:
        proc.start()
    reports = [ready.get(timeout=args.connect_timeout) for _ in procs]
    connect_seconds = time.time() - started
    connected = sum(r[0] for r in reports)
    time.sleep(2.0)  # let servers settle (gc, buffers) before measuring
    loaded_rss = sum(rss_kib(pid) for pid in server_pids(variant))
    sent: dict[int, float] = {}
    for seq in range(1, args.goals + 1):
        sent[seq] = publisher.publish(seq)
        time.sleep(args.gap)
    burst = list(range(args.goals + 1, args.goals + 11))
    for seq in burst:
        sent[seq] = publisher.publish(seq)
        time.sleep(0.1)
    time.sleep(args.settle)
    for cmd in commands:
        cmd.put("stop")
    per_socket = [s for _ in procs for s in results.get(timeout=300)]
    for proc in procs:
        proc.join(timeout=60)
    return summarise(per_socket, sent, burst, connected, connect_seconds, loaded_rss, args)


def summarise(per_socket, sent, burst, connected, connect_seconds, loaded_rss, args) -> dict:
    singles = [seq for seq in sent if seq not in burst]
    single_latencies, burst_latencies, burst_last = [], [], []
    received = 0
    for frames in per_socket:
        seen = {}
        for seq, at in frames:
            seen.setdefault(seq, at)
        received += sum(1 for seq in seen if seq in sent)
        single_latencies += [seen[s] - sent[s] for s in singles if s in seen]
        burst_latencies += [seen[s] - sent[s] for s in burst if s in seen]
        if burst[-1] in seen:
            burst_last.append(seen[burst[-1]] - sent[burst[0]])
    expected = connected * len(sent)
    return {
        "connected": connected,
        "connect_s": round(connect_seconds, 1),
        "lost": expected - received,
        "goal_p50_ms": to_ms(percentile(single_latencies, 0.50)),
        "goal_p99_ms": to_ms(percentile(single_latencies, 0.99)),
        "goal_max_ms": to_ms(max(single_latencies, default=None)),
        "burst_p99_ms": to_ms(percentile(burst_latencies, 0.99)),
        "burst_last_p99_ms": to_ms(percentile(burst_last, 0.99)),
        "loaded_rss": loaded_rss,
    }


# ---- main ----------------------------------------------------------------------------------


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    binary = shutil.which("redis-server") or "redis-server"
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    wait_port(port, proc)
    return proc, f"redis://127.0.0.1:{port}/0"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--servers", type=int, default=2, help="server processes per variant")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--goals", type=int, default=5, help="single goals, --gap apart")
    parser.add_argument("--gap", type=float, default=2.0)
    parser.add_argument("--settle", type=float, default=10.0, help="wait after the burst")
    parser.add_argument("--connect-timeout", type=float, default=300.0)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="livescore-bench-"))
    redis_proc, redis_url = start_redis(workdir)
    os.environ["REDIS_URL"] = redis_url  # the publisher's Django settings read it
    results: dict[str, dict] = {}
    try:
        for name in args.variants.split(","):
            print(f"== {name}: {args.sockets} sockets on {args.servers} processes", flush=True)
            results[name] = run_variant(name, args, redis_url, workdir)
            print(json.dumps(results[name]), flush=True)
    finally:
        redis_proc.terminate()
    report(results)
    if args.json:
        write_json(args.json, results)
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(workdir, ignore_errors=True)


def report(results: dict[str, dict]) -> None:
    columns = ["connected", "connect_s", "lost", "goal_p50_ms", "goal_p99_ms", "goal_max_ms"]
    columns += ["burst_p99_ms", "burst_last_p99_ms", "rss_per_socket_kib"]
    print("\n" + " | ".join(["variant", *columns]))
    for name, row in results.items():
        cells = [f"{row[c]:.1f}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        print(" | ".join([name, *cells]))
    floor = results.get("floor", {}).get("goal_p99_ms")
    stock = results.get("stock-daphne", {}).get("goal_p99_ms")
    for name, row in results.items():
        p99 = row["goal_p99_ms"]
        if p99 is None:
            continue
        ratios = []
        if stock and name != "stock-daphne":
            ratios.append(f"{stock / max(p99, 1):.1f}x faster than stock")
        if floor and name != "floor":
            ratios.append(f"{p99 / max(floor, 1):.2f}x the floor")
        if ratios:
            print(f"{name}: p99 {p99} ms, " + ", ".join(ratios))


if __name__ == "__main__":
    main()
