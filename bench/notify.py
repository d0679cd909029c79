"""Push notification benchmark: one goal to 250,000 followers, through the real pipeline.

The real stack on 127.0.0.1 (scripts/bench.sh: PostgreSQL, Redis), a Celery worker with 2
processes on the `notifications` queue, and the local push service (bench/pushreceiver.py)
in its own process, which verifies VAPID tokens (one in 5,000) and, after each timed phase,
decrypts every payload it accepted with the subscription's private key.

250,000 fans follow one team, each with one Web Push subscription (loaded with COPY). A goal
is recorded through the match services and handed to the pipeline as matches/effects.py
does; the hold window is set to 0 (it is policy, not cost). Reported:
- commit -> last push received, pushes per second and per worker process, worker CPU per
  push (encryption included);
- the floor: the encryption alone (pywebpush's aes128gcm with a fresh key pair), per push;
- the naive baseline, measured in the same run on a slice: one synchronous request per
  follower with pywebpush's `webpush()` (a new connection and a VAPID signature each time),
  extrapolated to every follower (and said so);
- a second goal with the push service answering 429 (Retry-After: 1) to 2% of requests and
  410 to 1% of subscriptions: lost, duplicated, pruned.

    bash scripts/bench.sh bench/notify.py [--followers 250000] [--baseline 1500]
        [--plain] [--latency-ms 20]

By default the push service answers over HTTPS after 20 ms, as one across the internet
does: what a sender that opens a connection per push and waits for each answer pays for.
`--plain --latency-ms 0` is the loopback worst case for the pipeline: no handshakes and no
waiting for the naive sender to lose, only CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")

from bench.common import tree_cpu  # noqa: E402
from bench.pushreceiver import Receiver, gone, subscription  # noqa: E402

PAYLOAD = b'{"v":1,"kind":"goal","match":"ben-vs-mar","title":"GOAL! BEN 1-0 MAR","body":"23\'"}'


def configure(receiver_url: str) -> dict[str, str]:
    """The pipeline's settings, for this process and the workers."""
    from notifications.management.commands.vapid_keys import new_pair

    private, public = new_pair()
    env = {
        "VAPID_PRIVATE_KEY": private,
        "VAPID_PUBLIC_KEY": public,
        "PUSH_HOLD_SECONDS": "0",
        "PUSH_RATE": "1000000",  # the provider quota is lifted: the pipeline's own speed
        "PUSH_CHUNK_USERS": "5000",
        "PUSH_BACKOFF_BASE": "1",
        "PUSH_BACKOFF_CAP": "4",
        "PUSH_MAX_ATTEMPTS": "10",
        "PUSH_ALLOW_LOCAL_ENDPOINTS": "1",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    return {**os.environ, **env}


def load_followers(team_id: int, fans: list[int], receiver_url: str, seed: int) -> None:
    from bench.settlement import copy_rows
    from notifications.kinds import bits_of

    now = dt.datetime.now(dt.UTC)
    bits = bits_of(["goal"])
    copy_rows(
        "COPY notifications_follow (user_id, team_id, kinds, created_at) FROM STDIN",
        ((uid, team_id, bits, now) for uid in fans),
    )

    def devices():
        for uid in fans:
            sub = subscription(uid, seed, receiver_url)
            keys = sub["keys"]
            yield (uid, "web", "webpush", sub["endpoint"], keys["p256dh"], keys["auth"], "", now)

    copy_rows(
        "COPY notifications_device (user_id, device_id, backend, endpoint, p256dh, auth, token,"
        " created_at) FROM STDIN",
        devices(),
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    argv = [str(Path(sys.executable).parent / "celery"), "-A", "livescore", "worker"]
    argv += [
        "-Q",
        "notifications",
        "-c",
        "2",
        "-l",
        "warning",
        "--without-gossip",
        "--without-mingle",
    ]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    from livescore.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if app.control.ping(timeout=1.0):
            return proc
    raise RuntimeError(f"worker did not start: {log.read_text()[-2000:]}")


def floor_us(receiver_url: str, seed: int, n: int = 3000) -> float:
    """CPU per push of the encryption alone (what no sender can avoid)."""
    from pywebpush import WebPusher

    subs = [subscription(i, seed, receiver_url) for i in range(1, n + 1)]
    started = time.process_time()
    for sub in subs:
        WebPusher(sub).encode(PAYLOAD, "aes128gcm")
    return (time.process_time() - started) / n * 1e6


def naive(fans: list[int], receiver_url: str, seed: int) -> float:
    """Pushes per second of the naive sender: one synchronous request per follower."""
    from django.conf import settings
    from pywebpush import webpush

    started = time.perf_counter()
    for uid in fans:
        webpush(
            subscription(uid, seed, receiver_url),
            PAYLOAD.decode(),
            vapid_private_key=settings.VAPID_PRIVATE_KEY,
            vapid_claims={"sub": settings.VAPID_SUBJECT},
            ttl=300,
            headers={"Urgency": "high", "Topic": "m1"},
        )
    return len(fans) / (time.perf_counter() - started)


def goal_to_everyone(
    match, team, minute: int, expected: int, receiver: Receiver, worker: subprocess.Popen
) -> dict:
    """Record a goal, hand it to the pipeline, wait for `expected` pushes at the receiver."""
    from celery import current_app

    from matches.effects import NOTIFY_TASK
    from matches.services import match_record_goal
    from notifications.models import Notice

    cpu_before = tree_cpu(worker.pid)
    recorded = match_record_goal(match=match, team=team, minute=minute)
    committed = time.time()
    current_app.send_task(NOTIFY_TASK, args=[[recorded.event.pk]])
    deadline = time.monotonic() + 900
    key = f"goal:{recorded.event.pk}"
    while time.monotonic() < deadline:
        time.sleep(0.5)
        done = Notice.objects.filter(key=key, state="done").exists()
        if done and receiver.stats()["received"] >= expected:
            break
    stats = receiver.stats()
    cpu = tree_cpu(worker.pid) - cpu_before
    seconds = stats["last"] - committed
    return {
        "seconds": round(seconds, 2),
        "received": stats["received"],
        "answers": stats["answers"],
        "per_second": round(stats["received"] / seconds),
        "per_process_per_second": round(stats["received"] / seconds / 2),
        "worker_cpu_us_per_push": round(cpu / max(stats["received"], 1) * 1e6),
        "notice_done": Notice.objects.filter(key=key, state="done").exists(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--followers", type=int, default=250_000)
    parser.add_argument("--baseline", type=int, default=1500, help="followers in the naive slice")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--plain", action="store_true", help="plain HTTP to the receiver (default: HTTPS)"
    )
    parser.add_argument(
        "--latency-ms", type=int, default=20, help="the push service's answer delay"
    )
    args = parser.parse_args()

    from core.net import free_port

    logs = Path(os.environ.get("LIVESCORE_VAR_DIR", "/tmp")) / "bench-notify"
    logs.mkdir(parents=True, exist_ok=True)
    cert = None if args.plain else logs / "receiver-cert.pem"
    receiver = Receiver(
        free_port(), seed=args.seed, verify_every=5000, log=logs / "receiver.log",
        tls=cert, latency_ms=args.latency_ms,
    )  # fmt: skip
    env = configure(receiver.url)
    if cert is not None:  # the workers' aiohttp and the naive sender's requests trust it
        os.environ["REQUESTS_CA_BUNDLE"] = env["PUSH_CA_FILE"] = str(cert)
        env["REQUESTS_CA_BUNDLE"] = str(cert)
    import django

    django.setup()
    from bench.settlement import load_fans, make_match
    from matches.models import MatchStatus
    from matches.services import match_change_status
    from notifications.models import Device

    worker = None
    try:
        match = make_match(day=1)
        fans = load_fans(args.followers)
        t = time.perf_counter()
        load_followers(match.home_id, fans, receiver.url, args.seed)
        print(
            f"loaded {len(fans):,} followers with devices in {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        match_change_status(match=match, status=MatchStatus.FIRST_HALF)

        floor = floor_us(receiver.url, args.seed)
        naive_rate = naive(fans[: args.baseline], receiver.url, args.seed)
        receiver.reset()
        worker = start_worker(env, logs / "worker.log")

        clean = goal_to_everyone(match, match.home, 23, len(fans), receiver, worker)
        checked = receiver.summary()
        print(f"clean: {json.dumps(clean)} {json.dumps(checked)}", flush=True)

        receiver.reset()
        receiver.control(p429=0.02, p410=0.01, retry_after=1)
        pruned = sum(gone(f"wp:{uid}", 0.01) for uid in fans)
        faults = goal_to_everyone(match, match.home, 40, len(fans) - pruned, receiver, worker)
        faulty = receiver.summary()
        left = Device.objects.count()
        print(
            f"faults: {json.dumps(faults)} {json.dumps(faulty)} devices left {left:,}", flush=True
        )
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        receiver.stop()

    naive_total = len(fans) / naive_rate
    result = {
        "followers": len(fans),
        "transport": "http" if args.plain else "https",
        "latency_ms": args.latency_ms,
        "commit_to_last_push_s": clean["seconds"],
        "pushes_per_s": clean["per_second"],
        "pushes_per_s_per_process": clean["per_process_per_second"],
        "worker_cpu_us_per_push": clean["worker_cpu_us_per_push"],
        "floor_encryption_us_per_push": round(floor),
        "cpu_over_floor": round(clean["worker_cpu_us_per_push"] / floor, 2),
        "naive_pushes_per_s": round(naive_rate),
        "naive_extrapolated_s": round(naive_total, 1),
        "speedup_vs_naive": round(clean["per_second"] / naive_rate, 1),
        "clean_decrypted": checked["decrypted"],
        "clean_duplicates": checked["duplicates"],
        "clean_lost": len(fans) - checked["devices"],
        "faults_answers": faults["answers"],
        "faults_decrypted": faulty["decrypted"],
        "faults_lost": len(fans) - pruned - faulty["devices"],
        "faults_duplicates": faulty["duplicates"],
        "faults_gone": pruned,
        "faults_pruned": len(fans) - left,
        "faults_seconds": faults["seconds"],
        "undecryptable": checked["undecryptable"] + faulty["undecryptable"],
    }
    print(
        f"\none goal to {len(fans):,} followers, 2 worker processes, naive slice {args.baseline:,}"
    )
    for name, value in result.items():
        print(f"  {name:<32} {value}")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
