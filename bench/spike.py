"""The goal moment: every spike at once, with the gateway's spike protection on and off.

The real stack on 127.0.0.1: 2 gateway processes (uvicorn), Celery workers per queue
(events with beat, realtime, settlement, notifications), PostgreSQL, Redis and the local
push service (bench/pushreceiver.py). For each variant (protection on, then off):

1. `--sockets` sockets watch a replay of the 2022 final; `--fans` fans hold 4 predictions
   each on it; `--followers` of them follow Argentina with a Web Push device; `--chatters`
   of the sockets are signed in and chat in the match room at `--chat-rate` messages/s.
2. The final is replayed through the signed provider feed, one event every `--gap` seconds,
   with the simulator's chaos (a goal VAR disallows, a re-sent and a swapped event).
3. At the VAR decision `--drop` of the sockets drop at once and reconnect within 2 s,
   resuming with `since`.
4. During the shootout the chat rate triples.
5. At full time the predictions settle, boards and personal frames go out, and the
   followers' pushes are counted at the push service.

Reported per phase: goal (and shootout kick) latency from the feed POST to each socket,
score frames lost (neither received nor covered by a later snapshot), sockets converged on
the REST snapshot at the end, handshakes refused and retried, chat delivered, settlement
time against an isolated settlement of the same size measured first in the same run, board
consistency, pushes delivered, server CPU and RSS. Bounded: every wait has a deadline.

    bash scripts/bench.sh bench/spike.py --json spike.json
    bash scripts/bench.sh bench/spike.py --sockets 2000 --fans 20000 --followers 2000   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")

from bench.common import percentile  # noqa: E402
from bench.common import to_ms as ms  # noqa: E402
from bench.loadclient import OP_TEXT, Busy, LoadSocket, client_frame, run_client  # noqa: E402
from bench.topology import healthy, wait_for  # noqa: E402

ORIGIN = "http://127.0.0.1:8000"
SCORE_TYPES = {"goal", "pen"}
SEQ = re.compile(rb'"seq":(\d+)')
TYPE = re.compile(rb'"t":"(\w+)"')
FRAME_CHANNEL = re.compile(rb'^\{"ch":"([^"]+)"')
BACKGROUND_NICE = {"realtime": 5, "settlement": 10, "notifications": 10}
PHASES = ("isolated", "var_storm", "second_half", "shootout")


# ---- the fans' side (client processes) ------------------------------------------------------


class Fan:
    """One fan's app across its sockets: what it saw of the match, and when."""

    __slots__ = (
        "arrivals", "chat", "connected", "errors", "last", "reconnects", "refused", "snaps",
        "socket", "token",
    )  # fmt: skip

    def __init__(self, token: str | None) -> None:
        self.token = token
        # score frames: seq -> (time, type, when the socket it came on started connecting)
        self.arrivals: dict[int, tuple[float, str, float]] = {}
        self.connected = 0.0
        self.snaps: list[int] = []
        self.last = 0
        self.chat = 0
        self.errors: dict[str, int] = {}  # error frames by code (rate limits, slow mode)
        self.refused = self.reconnects = 0
        self.socket: SpikeSocket | None = None

    def seen(self, line: bytes, now: float) -> None:
        channel = FRAME_CHANNEL.match(line)
        if channel is None:
            if line.startswith(b'{"t":"err"'):
                code = json.loads(line).get("code", "?")
                self.errors[code] = self.errors.get(code, 0) + 1
            return
        if channel.group(1).startswith(b"chat:"):
            if b'"t":"msgs"' in line[:60]:
                self.chat += line.count(b'"id":')
            return
        seq, kind = SEQ.search(line), TYPE.search(line)
        if seq is None or kind is None:
            return
        n, t = int(seq.group(1)), kind.group(1).decode()
        if t == "snap":
            self.snaps.append(n)
        elif t in SCORE_TYPES and n not in self.arrivals:
            self.arrivals[n] = (now, t, self.connected)
        self.last = max(self.last, n)


class SpikeSocket(LoadSocket):
    """A socket that sends its first frames in turn (auth, subscriptions) and hands every
    frame of every message to its fan."""

    def __init__(self, host: str, path: str, firsts: list[bytes], fan: Fan) -> None:
        super().__init__(host, path, ORIGIN, firsts[0])
        self.rest, self.fan = firsts[1:], fan

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode != OP_TEXT:
            super()._frame(opcode, payload)
            return
        now = time.time()
        for line in payload.split(b"\n"):
            self.fan.seen(line, now)
        if self.rest:
            self.transport.write(client_frame(OP_TEXT, self.rest.pop(0)))  # type: ignore[union-attr]
        elif not self.ready.done():
            self.ready.set_result(None)


def _firsts(fan: Fan, slug: str, room: int, since: int | None) -> list[bytes]:
    sub: dict[str, object] = {"op": "sub", "ch": f"match:{slug}"}
    if since:
        sub["since"] = since
    frames = [json.dumps(sub).encode()]
    if fan.token:
        frames.insert(0, json.dumps({"op": "auth", "token": fan.token}).encode())
        frames.append(json.dumps({"op": "sub", "ch": f"chat:room:{room}"}).encode())
    return frames


async def _connect(url: str, fan: Fan, slug: str, room: int, since: int | None) -> None:
    """Open a socket for `fan`; turned away (4014), come back after the hint (bounded)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    for _ in range(60):
        firsts = _firsts(fan, slug, room, since or fan.last or None)
        fan.connected = time.time()
        host = f"{parts.hostname}:{parts.port}"
        try:
            _, sock = await asyncio.wait_for(
                loop.create_connection(
                    lambda: SpikeSocket(host, parts.path, firsts, fan),  # noqa: B023
                    parts.hostname,
                    parts.port,
                ),
                60,
            )
            await asyncio.wait_for(sock.ready, 60)
            fan.socket = sock
            return
        except Busy as busy:
            fan.refused += 1
            await asyncio.sleep(busy.retry_ms / 1000)
        except (OSError, TimeoutError, ConnectionError):
            await asyncio.sleep(0.5)


async def _all(coroutines) -> None:
    await asyncio.gather(*coroutines)


async def _chat(fans: list[Fan], room: int, rate: float, seconds: float) -> None:
    talkers = [f for f in fans if f.token]
    if not talkers or rate <= 0:
        return
    started, n = time.monotonic(), 0
    while time.monotonic() - started < seconds:
        fan = talkers[n % len(talkers)]
        sock = fan.socket
        if sock is not None and not sock.closed and sock.transport is not None:
            say = {"op": "say", "ch": f"chat:room:{room}", "text": f"vamos {n} {os.getpid()}"}
            say["cid"] = f"{os.getpid()}-{n}"
            sock.transport.write(client_frame(OP_TEXT, json.dumps(say).encode()))
        n += 1
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))


def client_main(urls, count, tokens, slug, room, q_ready, q_cmd, q_out) -> None:
    run_client(_client(urls, count, tokens, slug, room, q_ready, q_cmd, q_out))


async def _client(urls, count, tokens, slug, room, q_ready, q_cmd, q_out) -> None:
    # Chatters are spread among the watchers, as in a real crowd.
    stride = max(1, count // max(1, len(tokens)))
    fans = [
        Fan(tokens[i // stride] if i % stride == 0 and i // stride < len(tokens) else None)
        for i in range(count)
    ]
    gate = asyncio.Semaphore(100)
    loop = asyncio.get_running_loop()

    async def open_one(i: int, delay: float = 0.0) -> None:
        await asyncio.sleep(delay)
        async with gate:
            await _connect(urls[i % len(urls)], fans[i], slug, room, None)

    started = time.time()
    await asyncio.gather(*(open_one(i) for i in range(count)))
    q_ready.put((sum(f.socket is not None for f in fans), time.time() - started))
    chatting: asyncio.Task | None = None
    reconnecting: set[asyncio.Task] = set()
    while True:
        command = await loop.run_in_executor(None, q_cmd.get)
        if command[0] == "stop":
            break
        if command[0] == "chat":  # ("chat", messages per second in this process, seconds)
            if chatting is not None:
                chatting.cancel()
            chatting = loop.create_task(_chat(fans, room, command[1], command[2]))
        elif command[0] == "drop":  # ("drop", share, seconds to come back within)
            rng = random.Random(os.getpid())
            dropped = rng.sample(range(count), int(count * command[1]))
            for i in dropped:
                sock = fans[i].socket
                if sock is not None and sock.transport is not None:
                    sock.transport.abort()  # the network went away: no close frame
                fans[i].socket = None
                fans[i].reconnects += 1
            returning = [open_one(i, rng.uniform(0, command[2])) for i in dropped]
            reconnecting.add(loop.create_task(_all(returning)))
    if chatting is not None:
        chatting.cancel()
    q_out.put(
        [
            {
                "arrivals": f.arrivals,
                "snaps": f.snaps,
                "last": f.last,
                "chat": f.chat,
                "chatter": f.token is not None,
                "refused": f.refused,
                "reconnects": f.reconnects,
                "errors": f.errors,
            }
            for f in fans
        ]
    )
    for f in fans:
        if f.socket is not None:
            f.socket.close()


# ---- the servers ----------------------------------------------------------------------------


class Stack:
    """Two gateway processes and a worker per queue, started with `env`; with `ingest`, a
    web process of its own serves the provider feed and REST, as deploy/compose.yaml runs
    it (else the first gateway does)."""

    def __init__(self, env: dict[str, str], logs: Path, nice: dict[str, int], ingest: bool) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self.urls = [self._web(f"gateway-{n}", env, logs) for n in range(2)]
        self.http = self.urls[0]
        if ingest:
            self.http = self._web("ingest", env, logs)
        self.urls = [url.replace("http://", "ws://") + "/ws/" for url in self.urls]
        celery = str(Path(sys.executable).parent / "celery")
        for queue, concurrency in (("events", 1), ("realtime", 1), ("settlement", 2)):
            argv = [celery, "-A", "livescore", "worker", "-Q", queue, "-c", str(concurrency)]
            argv += ["-n", f"{queue}@%h", "-l", "warning", "--without-gossip", "--without-mingle"]
            if queue == "events":
                argv += ["-B", "-s", str(logs / "celerybeat-schedule")]
            wenv = {**env, "CELERY_WORKER_NICE": str(nice.get(queue, 0))}
            self._start(f"worker-{queue}", argv, wenv, logs)
        argv = [celery, "-A", "livescore", "worker", "-Q", "notifications", "-c", "2"]
        argv += ["-n", "notifications@%h", "-l", "warning", "--without-gossip", "--without-mingle"]
        wenv = {**env, "CELERY_WORKER_NICE": str(nice.get("notifications", 0))}
        self._start("worker-notifications", argv, wenv, logs)
        from livescore.celery import app

        deadline = time.monotonic() + 90
        while len(app.control.ping(timeout=1.0)) < 4:
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")

    def _start(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        log = (logs / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def _web(self, name: str, env: dict[str, str], logs: Path) -> str:
        from core.net import free_port

        port = free_port()
        wenv = {**env, "WEB_PORT": str(port), "HOST": "127.0.0.1", "ASGI_SERVER": "uvicorn"}
        self._start(name, ["bash", "scripts/serve.sh"], wenv, logs)
        wait_for(lambda: healthy(port), 60, f"{name} to answer")
        return f"http://127.0.0.1:{port}"

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each part (with its children: a worker's pool)."""
        from bench.common import tree_cpu

        return {name: tree_cpu(p.pid) for name, p in self.procs.items()}

    def rss_mib(self) -> dict[str, float]:
        from bench.common import rss_kib

        out = {}
        for name, proc in self.procs.items():
            kids = subprocess.run(
                ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
            ).stdout.split()
            out[name] = round(sum(rss_kib(int(p)) for p in [proc.pid, *kids]) / 1024, 1)
        return out

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


# ---- the run --------------------------------------------------------------------------------


def isolated_settlement(fans: list[int]) -> float:
    """The same number of predictions settled on the same workers with nothing else
    running: the baseline. A small match settles first, so both start warm."""
    from django.db import connection

    from bench.settlement import (
        load_predictions,
        make_match,
        play_to_full_time,
        scorers_of,
        wait_for_run,
    )

    warm = make_match(day=39)
    load_predictions(warm, fans[:100], seed=2)
    play_to_full_time(warm, scorers_of(warm))
    wait_for_run(warm, 1)
    match = make_match(day=40)
    load_predictions(match, fans, seed=3)
    with connection.cursor() as cursor:  # plans for the new match's rows, as in production
        cursor.execute("ANALYZE predictions_prediction")
    started = play_to_full_time(match, scorers_of(match))
    return wait_for_run(match, 1) - started


def run_variant(name: str, args, base_env, fans: list[int], tokens, receiver, isolated: bool):
    from django.db import connection

    from bench.settlement import load_predictions, wait_for_run
    from chat.services import room_for_match
    from matches import simulator
    from matches.models import Match
    from predictions import leaderboard

    logs = Path(base_env["LIVESCORE_VAR_DIR"]) / f"spike-{name}"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**base_env}
    if name == "off":
        env["GATEWAY_SPIKE_PROTECTION"] = "0"
        env["CHAT_AUTO_SLOW_RATE"] = "1000000"
    else:  # the shipped admission settings unless the command line sizes them
        if args.handshakes_per_second is not None:
            env["GATEWAY_HANDSHAKES_PER_SECOND"] = str(args.handshakes_per_second)
        if args.handshake_burst is not None:
            env["GATEWAY_HANDSHAKE_BURST"] = str(args.handshake_burst)
    source = Match.objects.select_related("home", "away").get(slug="arg-vs-fra-2022-12-18")
    replay = simulator.replay_create(source=source)
    load_predictions(replay, fans, seed=11)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE predictions_prediction")
    room = room_for_match(replay.pk).pk
    plan = simulator.add_chaos(simulator.replay_plan(source=source, replay=replay), home_code="ARG")
    receiver.reset()

    # The background queues yield the CPU to the score path (protection on), as
    # deploy/compose.yaml and the Procfile run them.
    nice = {} if name == "off" else BACKGROUND_NICE
    stack = Stack(env, logs, nice, ingest=not args.feed_on_gateway)
    result: dict = {"variant": name, "match": replay.slug}
    if isolated:
        result["isolated_settlement_s"] = round(isolated_settlement(fans), 2)
    ctx = mp.get_context("spawn")
    q_ready, q_out = ctx.Queue(), ctx.Queue()
    per = args.sockets // args.clients
    chat_per = [tokens[i :: args.clients] for i in range(args.clients)]
    clients = []
    for n in range(args.clients):
        q_cmd = ctx.Queue()
        proc = ctx.Process(
            target=client_main,
            args=(stack.urls, per, chat_per[n], replay.slug, room, q_ready, q_cmd, q_out),
        )
        proc.start()
        clients.append((proc, q_cmd))
    try:
        opened = [q_ready.get(timeout=300) for _ in clients]
        result["sockets"] = sum(o[0] for o in opened)
        result["connect_s"] = round(max(o[1] for o in opened), 1)

        def tell(*command) -> None:
            for _, q in clients:
                q.put(command)

        tell("chat", args.chat_rate / args.clients, 3600)
        cpu0 = stack.cpu()
        posted, phase_of, marks = drive(plan, replay, stack, args, tell)
        cpu1 = stack.cpu()
        full_time = posted[max(posted)]
        replay.refresh_from_db()
        settled = wait_for_run(replay, replay.result_version, timeout=600)
        result["settlement_s"] = round(settled - full_time, 2)
        cpu2 = stack.cpu()
        # Pushes: every notice for the replay's goals done (or the deadline).
        result["pushes"] = pushes_delivered(replay, receiver)
        time.sleep(3)  # the last personal and board frames reach the sockets
        final = json.loads(
            urllib.request.urlopen(f"{stack.http}/api/v1/matches/{replay.slug}/live/").read()
        )
        tell("stop")
        fans_seen = [fan for _ in clients for fan in q_out.get(timeout=120)]
        result["rss_mib"] = stack.rss_mib()
    finally:
        for proc, q in clients:
            q.put(("stop",))
            proc.join(timeout=60)
            if proc.is_alive():
                proc.kill()
        stack.stop()
    result["boards_consistent"] = leaderboard.check_all() == []
    result["cpu_s"] = {
        "match": {k: round(cpu1[k] - cpu0[k], 1) for k in cpu0},
        "settlement": {k: round(cpu2[k] - cpu1[k], 1) for k in cpu0},
    }
    result["phase_marks"] = marks
    result.update(summarise(fans_seen, posted, phase_of, final))
    return result


def drive(plan, replay, stack: Stack, args, tell):
    """Post the plan event by event; returns (seq -> post time, seq -> phase, marks)."""
    from matches import simulator
    from matches.models import FeedEvent, Match

    posted: dict[int, float] = {}
    phase_of: dict[int, str] = {}
    marks: dict[str, float] = {}
    phase, seq = "isolated", 0
    for planned in plan:
        event = planned.event
        kind = event["kind"]
        if kind == "shootout_kick" and phase != "shootout":
            phase = "shootout"
            marks[phase] = time.time()
            tell("chat", 3 * args.chat_rate / args.clients, 3600)
        sent = time.time()
        simulator.post_event(base_url=stack.http, provider="demo", event=event)
        # Wait until the event is applied, so the frames it made (the match's seq moved in
        # the same transaction) are attributed to this POST. Bounded: a swapped event waits
        # for its partner, a duplicate is never applied twice.
        applied = FeedEvent.objects.filter(match=replay, provider_event_id=event["id"])
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            if applied.exclude(state=FeedEvent.State.PENDING).exists():
                break
            time.sleep(0.005)
        now_seq = Match.objects.filter(pk=replay.pk).values_list("seq", flat=True)[0]
        for n in range(seq + 1, now_seq + 1):
            posted[n], phase_of[n] = sent, phase
        seq = max(seq, now_seq)
        if kind == "goal_disallowed" and phase == "isolated":
            # The VAR decision: 30% of the sockets drop at once and come back within 2 s.
            phase = "var_storm"
            marks[phase] = time.time()
            tell("drop", args.drop, 2.0)
        elif phase == "var_storm" and time.time() - marks["var_storm"] > 6:
            phase = "second_half"
            marks[phase] = time.time()
        time.sleep(args.gap)
    return posted, phase_of, marks


def pushes_delivered(replay, receiver, timeout: float = 300) -> dict:
    from notifications.models import Notice

    open_ = Notice.objects.filter(state__in=[Notice.State.HELD, Notice.State.SENDING])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and open_.exists():
        time.sleep(0.5)
    stats = receiver.stats()
    return {"received": stats["received"], "notices_open": open_.count()}


def summarise(fans_seen: list[dict], posted, phase_of, final: dict) -> dict:
    latencies: dict[str, list[float]] = {p: [] for p in PHASES}
    lost = converged = resumed = 0
    score_seqs = set()
    for fan in fans_seen:
        score_seqs |= set(fan["arrivals"])
    for fan in fans_seen:
        for seq, (at, _, connected) in fan["arrivals"].items():
            if seq not in posted:
                continue
            if posted[seq] < connected:
                resumed += 1  # posted while this fan was away: caught up on its resume
            else:
                latencies[phase_of[seq]].append(at - posted[seq])
        covered = max(fan["snaps"], default=0)
        lost += sum(1 for s in score_seqs if s not in fan["arrivals"] and s > covered)
        converged += fan["last"] == final["seq"]
    out: dict = {"final_seq": final["seq"], "score_frames": len(score_seqs)}
    for phase, values in latencies.items():
        out[f"goal_{phase}"] = {
            "n": len(values),
            "p50_ms": ms(percentile(values, 0.5)),
            "p99_ms": ms(percentile(values, 0.99)),
            "max_ms": ms(max(values, default=None) if values else None),
        }
    spike = [v for p in ("var_storm", "second_half", "shootout") for v in latencies[p]]
    out["goal_spike"] = {"n": len(spike), "p99_ms": ms(percentile(spike, 0.99))}
    iso = percentile(latencies["isolated"], 0.99)
    out["spike_over_isolated_p99"] = (
        round(percentile(spike, 0.99) / iso, 2) if iso and spike else None
    )
    out["score_frames_lost"] = lost
    out["score_frames_resumed"] = resumed
    out["converged"] = f"{converged}/{len(fans_seen)}"
    out["refused"] = sum(f["refused"] for f in fans_seen)
    out["reconnects"] = sum(f["reconnects"] for f in fans_seen)
    out["chat_delivered"] = sum(f["chat"] for f in fans_seen)
    errors: dict[str, int] = {}
    for fan in fans_seen:
        for code, count in fan["errors"].items():
            errors[code] = errors.get(code, 0) + count
    out["error_frames"] = errors
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--fans", type=int, default=250_000)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--chatters", type=int, default=500)
    parser.add_argument("--chat-rate", type=float, default=50, help="messages/s in the room")
    parser.add_argument("--drop", type=float, default=0.3, help="share of sockets at VAR")
    parser.add_argument("--gap", type=float, default=0.4, help="seconds between events")
    parser.add_argument("--variants", default="on,off")
    parser.add_argument(
        "--feed-on-gateway",
        action="store_true",
        help="post the feed to a socket gateway, not to a web process of its own",
    )
    parser.add_argument("--handshakes-per-second", type=int, help="admission rate (on)")
    parser.add_argument("--handshake-burst", type=int, help="admission burst (on)")
    parser.add_argument("--json")
    args = parser.parse_args()

    from bench.notify import configure, load_followers
    from bench.pushreceiver import Receiver
    from core.net import free_port

    var = Path(os.environ.get("LIVESCORE_VAR_DIR", "/tmp"))
    var.mkdir(parents=True, exist_ok=True)
    receiver = Receiver(free_port(), verify_every=5000, log=var / "receiver.log")
    env = configure(receiver.url)
    # A goal's pushes wait for VAR a little, as in production (docs/notifications.md).
    env["PUSH_HOLD_SECONDS"] = os.environ["PUSH_HOLD_SECONDS"] = "2"
    env["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from bench.settlement import load_fans
    from matches.models import Team
    from matches.worldcup import worldcup_load
    from predictions import leaderboard

    results: dict = {"args": vars(args)}
    try:
        leaderboard.rebuild_all()
        worldcup_load(year=2022)
        started = time.perf_counter()
        fans = load_fans(args.fans)
        load_followers(Team.objects.get(code="ARG").pk, fans[: args.followers], receiver.url, 7)
        users = User.objects.filter(pk__in=fans[: args.chatters])
        made = Token.objects.bulk_create([Token(user=u, key=f"{u.pk:040x}") for u in users])
        tokens = [t.key for t in made]
        results["load_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps(results), flush=True)
        for n, name in enumerate(args.variants.split(",")):
            results[name] = run_variant(name, args, env, fans, tokens, receiver, n == 0)
            results.setdefault("isolated_settlement_s", results[name].get("isolated_settlement_s"))
            results[name]["settlement_over_isolated"] = round(
                results[name]["settlement_s"] / results["isolated_settlement_s"], 2
            )
            print(json.dumps(results[name]), flush=True)
    finally:
        receiver.stop()
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def report(results: dict) -> None:
    variants = [v for v in ("on", "off") if v in results]
    rows = [
        ("sockets", lambda r: r["sockets"]),
        ("goal isolated p50/p99/max ms", lambda r: _triple(r["goal_isolated"])),
        ("goal VAR storm p50/p99/max ms", lambda r: _triple(r["goal_var_storm"])),
        ("goal second half p50/p99/max ms", lambda r: _triple(r["goal_second_half"])),
        ("shootout kick p50/p99/max ms", lambda r: _triple(r["goal_shootout"])),
        ("spike p99 / isolated p99", lambda r: r["spike_over_isolated_p99"]),
        ("score frames lost", lambda r: r["score_frames_lost"]),
        ("converged on REST", lambda r: r["converged"]),
        ("reconnects / refused (4014)", lambda r: f"{r['reconnects']} / {r['refused']}"),
        ("chat messages delivered", lambda r: r["chat_delivered"]),
        ("settlement s (x isolated)",
         lambda r: f"{r['settlement_s']} ({r['settlement_over_isolated']}x)"),
        ("boards consistent", lambda r: r["boards_consistent"]),
        ("pushes received", lambda r: r["pushes"]["received"]),
        ("gateway CPU s (match)", lambda r: _sum(r["cpu_s"]["match"], "gateway")),
        ("gateway RSS MiB", lambda r: _sum(r["rss_mib"], "gateway")),
    ]  # fmt: skip
    print(f"\nisolated settlement: {results.get('isolated_settlement_s')} s")
    print(f"{'':34}" + "".join(f"{v:>26}" for v in variants))
    for label, value in rows:
        cells = []
        for v in variants:
            try:
                cells.append(str(value(results[v])))
            except (KeyError, TypeError):
                cells.append("-")
        print(f"{label:34}" + "".join(f"{c:>26}" for c in cells))


def _triple(d: dict) -> str:
    return f"{d['p50_ms']}/{d['p99_ms']}/{d['max_ms']}"


def _sum(d: dict, prefix: str) -> float:
    return round(sum(v for k, v in d.items() if k.startswith(prefix)), 1)


if __name__ == "__main__":
    main()
