"""Chat flood benchmark: does a flooded match room slow the score?

The real stack on 127.0.0.1: PostgreSQL and Redis (scripts/bench.sh), 2 uvicorn gateway
processes, a Celery worker with beat persisting chat. N sockets (10,000) watch one match and
its chat room; C of them (500) sign in and chat at a total R messages per second (1,000) for
D seconds with a realistic mix (10% blocked words in l33t or spaced spellings, 5% links,
10% repeats of the chatter's previous message). Goals go through the match services (commit,
publish) in two phases of the same run: quiet (the baseline) and during the flood.

Reports goal p50/p99/max per phase and score frames lost; chat messages and WebSocket
messages received per socket per second (mean and the busiest second of the busiest
socket); chat delivery latency (post accepted -> batch received, on a sample of sockets);
posts accepted and refused by rule; gateway CPU per accepted message (flood CPU minus quiet
CPU over the same time); the persisting worker's CPU per message. Bounded: stops by itself.

    bash scripts/bench.sh bench/chat.py                    # 10,000 sockets, limits raised
    bash scripts/bench.sh bench/chat.py --limits shipped   # the shipped rate limits

`--limits raised` (default) lifts the per-fan and per-room rate limits and automatic slow
mode so that every message the filters pass is delivered: the worst case for the gateway.
`--limits shipped` keeps the defaults and shows the limits doing their job.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")

from bench.common import (  # noqa: E402
    cpu_seconds,
    percentile,
    start_servers,
    stop,
    to_ms,
    tree_cpu,
    write_json,
)
from bench.loadclient import LoadSocket, client_frame, goal_seq, run_client  # noqa: E402

ORIGIN = "http://127.0.0.1:8000"
RAISED = {
    "CHAT_USER_PER_MINUTE": "1000000",
    "CHAT_USER_BURST": "1000",
    "CHAT_ROOM_PER_SECOND": "1000000",
    "CHAT_AUTO_SLOW_RATE": "1000000",
}
SAMPLE_EVERY = 20  # one socket in this many decodes its chat frames for latency


# ---- client processes ----------------------------------------------------------------------


class ChatSocket(LoadSocket):
    """A socket that sends a few frames in turn (auth, subscriptions), then counts what a
    chat room sends it: batches, messages, the busiest second, and latencies if sampled."""

    def __init__(self, host: str, path: str, origin: str, firsts: list[bytes], sample: bool):
        super().__init__(host, path, origin, firsts[0])
        self.firsts, self.sample = firsts[1:], sample
        self.chat_ws = self.chat_msgs = 0
        self.per_second: Counter[int] = Counter()
        self.latencies: list[float] = []
        self.replies: Counter[str] = Counter()

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode != 1 or not self.ready.done():
            if opcode == 1 and self.firsts:
                self.transport.write(client_frame(1, self.firsts.pop(0)))  # type: ignore[union-attr]
                return
            super()._frame(opcode, payload)
            return
        if b"\n" in payload:  # several frames in one message (docs/protocol.md)
            for line in payload.split(b"\n"):
                self._frame(opcode, line)
            return
        if payload.startswith(b'{"ch":"chat:'):
            self._chat(payload)
            return
        if payload.startswith(b'{"t":"err"'):
            self.replies[json.loads(payload).get("code", "?")] += 1
            return
        seq = goal_seq(payload)
        if seq is not None:
            self.received.append((seq, time.time()))

    def _chat(self, payload: bytes) -> None:
        if payload.startswith(b'{"ch":"chat:', 0) and b'"t":"msgs"' in payload[:40]:
            now = time.time()
            count = payload.count(b'"id":')
            self.chat_ws += 1
            self.chat_msgs += count
            self.per_second[int(now)] += count
            if self.sample:
                self.latencies += [now - m["ts"] / 1000 for m in json.loads(payload)["d"]]
        elif b'"t":"ack"' in payload[:40]:
            self.replies["again" if b'"again"' in payload else "accepted"] += 1
        elif b'"t":"err"' in payload[:60]:
            self.replies[json.loads(payload).get("code", "?")] += 1


def message_text(rng: random.Random, n: int, last: str | None) -> str:
    roll = rng.random()
    if roll < 0.10:
        return rng.choice(["what an 1d10t", "ref you i d i o t", "IDIOT keeper", "id\u200biot"])
    if roll < 0.15:
        return rng.choice(["free stream at spam.xyz", "see https://bad.example/live"])
    if roll < 0.25 and last:
        return last
    return f"chant {n} vamos {rng.randint(0, 10**6)}"


def client_main(
    url: str, count: int, tokens: list[str], room: int, slug: str, q_ready, q_cmd, q_out
):
    run_client(_client(url, count, tokens, room, slug, q_ready, q_cmd, q_out))


async def _client(url, count, tokens, room, slug, q_ready, q_cmd, q_out) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    subs = [
        json.dumps({"op": "sub", "ch": ch}).encode()
        for ch in (f"match:{slug}", f"chat:room:{room}")
    ]
    gate = asyncio.Semaphore(100)
    sockets: list[ChatSocket | None] = [None] * count

    # Chatters are spread evenly among the watchers, as in a real crowd (shards fill in the
    # order sockets join, so chatters opened first would all share the first shards).
    stride = max(1, count // max(1, len(tokens)))
    chatter = {i: i // stride for i in range(0, count, stride) if i // stride < len(tokens)}

    async def open_one(i: int) -> None:
        auth = (
            [json.dumps({"op": "auth", "token": tokens[chatter[i]]}).encode()]
            if i in chatter
            else []
        )
        firsts = auth + subs
        host = f"{parts.hostname}:{parts.port}"
        sample = i not in chatter and i % SAMPLE_EVERY == 1

        def make() -> ChatSocket:
            return ChatSocket(host, parts.path, ORIGIN, firsts, sample)

        async with gate:
            try:
                connecting = loop.create_connection(make, parts.hostname, parts.port)
                _, sock = await asyncio.wait_for(connecting, 120)
                await asyncio.wait_for(sock.ready, 120)
                sockets[i] = sock
            except (OSError, TimeoutError, ConnectionError):
                pass

    await asyncio.gather(*(open_one(i) for i in range(count)))
    opened = [s for s in sockets if s is not None]
    q_ready.put((len(opened), count - len(opened)))
    while True:
        command = await loop.run_in_executor(None, q_cmd.get)
        if command == "stop":
            break
        _, rate, seconds = command  # ("flood", messages per second, seconds)
        await flood([s for i, s in enumerate(sockets) if i in chatter and s], room, rate, seconds)
    q_out.put(
        [
            {
                "goals": s.received,
                "chat_ws": s.chat_ws,
                "chat_msgs": s.chat_msgs,
                "busiest": max(s.per_second.values(), default=0),
                "latencies": s.latencies,
                "replies": dict(s.replies),
                "chatter": i in chatter,
                "closed": s.closed,
            }
            for i, s in enumerate(sockets)
            if s is not None
        ]
    )
    for s in opened:
        s.close()


async def flood(chatters: list[ChatSocket], room: int, rate: float, seconds: float) -> None:
    rng = random.Random(os.getpid())
    last: dict[int, str] = {}
    interval, n = 1 / rate, 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        i = n % len(chatters)
        text = message_text(rng, n, last.get(i))
        last[i] = text
        frame = {"op": "say", "ch": f"chat:room:{room}", "text": text, "cid": f"{os.getpid()}-{n}"}
        if not chatters[i].closed:  # the server closes a socket that keeps being refused (4008)
            chatters[i].transport.write(client_frame(1, json.dumps(frame).encode()))  # type: ignore[union-attr]
        n += 1
        await asyncio.sleep(max(0.0, started + n * interval - time.monotonic()))


# ---- the run -------------------------------------------------------------------------------


def setup(chatters: int):
    import django

    django.setup()
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from bench.settlement import make_match
    from chat.models import BlockedTerm
    from chat.services import room_for_match
    from predictions import leaderboard

    leaderboard.rebuild_all()
    match = make_match(day=11)
    BlockedTerm.objects.get_or_create(term="idiot")
    users = User.objects.bulk_create([User(username=f"chatter{i}") for i in range(chatters)])
    tokens = Token.objects.bulk_create(
        [Token(user=u, key=f"{i:040x}") for i, u in enumerate(users)]
    )
    return match, room_for_match(match.pk).pk, [t.key for t in tokens]


def goals(match, first: int, count: int, gap: float) -> dict[int, float]:
    from matches.services import match_record_goal

    sent = {}
    for n in range(count):
        match.refresh_from_db()
        sent[match.seq + 1] = time.time()
        match_record_goal(match=match, team=match.home, minute=10 + first + n)
        time.sleep(gap)
    return sent


def start_flusher(env: dict[str, str], log: Path) -> subprocess.Popen:
    argv = [
        str(Path(sys.executable).parent / "celery"),
        "-A",
        "livescore",
        "worker",
        "-Q",
        "realtime",
    ]
    argv += ["-c", "1", "-B", "-s", str(log.with_suffix(".schedule")), "-l", "warning"]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--chatters", type=int, default=500)
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="chat messages per second, total"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="flood duration")
    parser.add_argument("--goals", type=int, default=6, help="goals per phase, --gap apart")
    parser.add_argument("--gap", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--limits", choices=["raised", "shipped"], default="raised")
    parser.add_argument("--json")
    args = parser.parse_args()
    match, room, tokens = setup(args.chatters)
    from matches.models import MatchStatus
    from matches.services import match_change_status

    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    logs = Path(os.environ.get("LIVESCORE_VAR_DIR", "/tmp"))
    env = {**os.environ, "WS_IDLE_TIMEOUT": "3600", "LOG_LEVEL": "WARNING"}
    if args.limits == "raised":
        env.update(RAISED)
    flusher = start_flusher(env, logs / "chat-flush.log")
    variant = start_servers("livescore-uvicorn", 2, env, logs)
    pids = [p.pid for p in variant.processes]
    try:
        results = drive(args, variant.urls, tokens, room, match, pids, flusher.pid)
    finally:
        stop(variant)
        flusher.terminate()
        flusher.wait(timeout=30)
    report(results)
    if args.json:
        write_json(args.json, results)


def drive(args, urls, tokens, room, match, pids, flusher_pid) -> dict:
    ctx = mp.get_context("spawn")
    q_ready, q_out = ctx.Queue(), ctx.Queue()
    cmds = [ctx.Queue() for _ in range(args.clients)]
    per = [args.sockets // args.clients] * args.clients
    chat_per = [args.chatters // args.clients] * args.clients
    offset, procs = 0, []
    for i in range(args.clients):
        mine = tokens[offset : offset + chat_per[i]]
        offset += chat_per[i]
        procs.append(
            ctx.Process(
                target=client_main,
                args=(urls[i % len(urls)], per[i], mine, room, match.slug, q_ready, cmds[i], q_out),
            )
        )
    for proc in procs:
        proc.start()
    connected = sum(q_ready.get(timeout=600)[0] for _ in procs)
    print(f"connected {connected}", flush=True)
    time.sleep(3)
    quiet_span = args.goals * args.gap
    cpu0 = sum(cpu_seconds(p) for p in pids)
    quiet = goals(match, 0, args.goals, args.gap)
    cpu_quiet = sum(cpu_seconds(p) for p in pids) - cpu0
    seconds = max(args.seconds, quiet_span + 4)
    worker0, cpu0 = tree_cpu(flusher_pid), sum(cpu_seconds(p) for p in pids)
    for cmd in cmds:
        cmd.put(("flood", args.rate / args.clients, seconds))
    time.sleep(2)
    flooded = goals(match, args.goals, args.goals, args.gap)
    time.sleep(max(0.0, seconds - quiet_span - 2) + 1)
    cpu_flood = sum(cpu_seconds(p) for p in pids) - cpu0
    time.sleep(4)  # the last batches and the flush
    worker_cpu = tree_cpu(flusher_pid) - worker0
    for cmd in cmds:
        cmd.put("stop")
    sockets = [s for _ in procs for s in q_out.get(timeout=300)]
    for proc in procs:
        proc.join(timeout=60)
    return summarise(
        sockets,
        quiet,
        flooded,
        connected,
        seconds,
        cpu_quiet * seconds / quiet_span,
        cpu_flood,
        worker_cpu,
        args,
    )


def phase(sockets: list[dict], sent: dict[int, float]) -> dict:
    latencies, received = [], 0
    for s in sockets:
        seen: dict[int, float] = {}
        for seq, at in s["goals"]:
            seen.setdefault(seq, at)
        received += sum(1 for seq in sent if seq in seen)
        latencies += [seen[q] - sent[q] for q in sent if q in seen]
    return {
        "lost": len(sockets) * len(sent) - received,
        "p50_ms": to_ms(percentile(latencies, 0.5)),
        "p99_ms": to_ms(percentile(latencies, 0.99)),
        "max_ms": to_ms(max(latencies, default=None)),
    }


def summarise(
    sockets, quiet, flooded, connected, seconds, cpu_quiet, cpu_flood, worker_cpu, args
) -> dict:
    replies: Counter[str] = Counter()
    for s in sockets:
        replies.update(s["replies"])
    accepted = replies["accepted"]
    listeners = [s for s in sockets if not s["chatter"]] or sockets
    latencies = [x for s in sockets for x in s["latencies"]]
    return {
        "limits": args.limits,
        "connected": connected,
        # Score frames are counted on the sockets still open: a socket the server closed
        # (4008, a chatter that kept posting through refusals) reconnects and resumes with
        # `since` in a real client; this load client does not.
        "quiet": phase([s for s in sockets if not s["closed"]], quiet),
        "flood": phase([s for s in sockets if not s["closed"]], flooded),
        "posts_sent": int(args.rate * seconds),
        "sockets_closed": sum(1 for s in sockets if s["closed"]),
        "replies": dict(replies.most_common()),
        "chat_msgs_per_socket_s": round(
            sum(s["chat_msgs"] for s in listeners) / len(listeners) / seconds, 2
        ),
        "chat_ws_per_socket_s": round(
            sum(s["chat_ws"] for s in listeners) / len(listeners) / seconds, 2
        ),
        "busiest_listener_second_msgs": max(s["busiest"] for s in listeners),
        "chat_latency_p50_ms": to_ms(percentile(latencies, 0.5)),
        "chat_latency_p99_ms": to_ms(percentile(latencies, 0.99)),
        "gateway_cpu_flood_s": round(cpu_flood, 2),
        "gateway_cpu_quiet_s": round(cpu_quiet, 2),
        "gateway_cpu_us_per_accepted": round((cpu_flood - cpu_quiet) / max(1, accepted) * 1e6),
        "worker_cpu_us_per_accepted": round(worker_cpu / max(1, accepted) * 1e6),
    }


def report(r: dict) -> None:
    print(json.dumps(r, indent=2))
    quiet, flood = r["quiet"]["p99_ms"], r["flood"]["p99_ms"]
    if quiet and flood:
        print(f"goal p99: quiet {quiet} ms, during the flood {flood} ms ({flood / quiet:.2f}x)")


if __name__ == "__main__":
    main()
