"""A local push service for tests and bench/notify.py, on 127.0.0.1.

It implements the Web Push endpoint (RFC 8030: POST /wp/<n>, answers 201) and the HTTP-API
backend's endpoint (POST /api/send, JSON, answers 200), records every request with its
arrival time and headers, and decrypts Web Push payloads with the subscription's private
key (RFC 8291, http_ece): subscription n's keys come from `subscription(n, seed)`, so the
sender side registers devices without any key changing hands. VAPID tokens are verified.

It can be told (POST /control) to answer 429 (with Retry-After) to a share of requests, 410
to a share of subscriptions (always the same ones: a gone device stays gone), 500 to a
share, or to stall: accept requests and hold the answers until released.

    python -m bench.pushreceiver --port 8900 --seed 7
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import random
import subprocess
import sys
import time
import urllib.request
from functools import lru_cache
from pathlib import Path
from typing import Any

KEY_POOL = 2000  # distinct key pairs; subscription n uses pair n % KEY_POOL, its own auth


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@lru_cache(maxsize=KEY_POOL)
def _private(index: int, seed: int) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    digest = hashlib.sha256(f"key:{seed}:{index}".encode()).digest()
    return ec.derive_private_key(int.from_bytes(digest, "big") % (order - 1) + 1, ec.SECP256R1())


@lru_cache(maxsize=KEY_POOL)
def _public(index: int, seed: int) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = (
        _private(index, seed)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url(raw)


def _auth(n: int, seed: int) -> bytes:
    return hashlib.sha256(f"auth:{seed}:{n}".encode()).digest()[:16]


def subscription(n: int, seed: int, base_url: str) -> dict[str, Any]:
    """Subscription n, as a browser's PushSubscription.toJSON() gives it."""
    return {
        "endpoint": f"{base_url}/wp/{n}",
        "keys": {"p256dh": _public(n % KEY_POOL, seed), "auth": b64url(_auth(n, seed))},
    }


def decrypt(n: int, seed: int, body: bytes) -> dict[str, Any]:
    import http_ece

    plain = http_ece.decrypt(
        body,
        private_key=_private(n % KEY_POOL, seed),
        auth_secret=_auth(n, seed),
        version="aes128gcm",
    )
    return json.loads(plain)


class State:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.records: list[tuple[str, float, dict[str, str], bytes]] = []  # (who, t, headers, body)
        self.control: dict[str, float] = {"p429": 0.0, "p410": 0.0, "p500": 0.0, "retry_after": 1}
        self.stall: asyncio.Event = asyncio.Event()
        self.stall.set()
        self.answers: dict[int, int] = {}
        self.rng = random.Random(seed)
        self.bad_vapid = 0
        self.waiting = 0  # requests read, answers held by a stall

    def verdict(self, who: str) -> int:
        """The status to answer: 410 for the same share of subscriptions every time."""
        bucket = int(hashlib.sha256(f"gone:{who}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        if bucket < self.control["p410"]:
            return 410
        if self.rng.random() < self.control["p429"]:
            return 429
        if self.rng.random() < self.control["p500"]:
            return 500
        return 0


def _vapid_ok(header: str) -> bool:
    from py_vapid import Vapid02

    try:
        return bool(Vapid02.verify(header))
    except Exception:  # noqa: BLE001 - a malformed header is a failed check
        return False


def app(state: State, verify_every: int) -> Any:
    from aiohttp import web

    async def receive(request: web.Request, who: str, body: bytes, ok: int) -> web.Response:
        """Decide, record what is accepted (a push service has it once it has read it), then
        answer; a stall holds only the answer."""
        status = state.verdict(who)
        if not status and who.startswith("wp:") and len(state.records) % verify_every == 0:
            if not _vapid_ok(request.headers.get("Authorization", "")):
                state.bad_vapid += 1
                status = 403
        if not status:
            kept = ("ttl", "urgency", "topic", "authorization", "content-encoding")
            headers = {k: v for k, v in request.headers.items() if k.lower() in kept}
            state.records.append((who, time.time(), headers, body))
        state.answers[status or ok] = state.answers.get(status or ok, 0) + 1
        state.waiting += 1
        try:
            await state.stall.wait()
        finally:
            state.waiting -= 1
        if status == 429:
            after = str(int(state.control["retry_after"]))
            return web.Response(status=429, headers={"Retry-After": after})
        if status == 410 and who.startswith("http:"):
            return web.json_response({"error": {"status": "UNREGISTERED"}}, status=400)
        if status:
            return web.Response(status=status)
        if who.startswith("http:"):
            return web.json_response({"name": f"m{len(state.records)}"})
        return web.Response(status=ok)

    async def web_push(request: web.Request) -> web.Response:
        body = await request.read()
        return await receive(request, f"wp:{request.match_info['n']}", body, 201)

    async def http_api(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer receiver-token":
            return web.Response(status=401)
        body = await request.read()
        token = json.loads(body)["message"]["token"]
        return await receive(request, f"http:{token}", body, 200)

    async def control(request: web.Request) -> web.Response:
        data = await request.json()
        if "stall" in data:
            state.stall.clear() if data.pop("stall") else state.stall.set()
        state.control.update({k: float(v) for k, v in data.items()})
        return web.json_response(state.control)

    async def stats(request: web.Request) -> web.Response:
        times = [t for _, t, _, _ in state.records]
        return web.json_response({
            "received": len(state.records), "answers": state.answers, "bad_vapid": state.bad_vapid,
            "waiting": state.waiting,
            "first": min(times, default=0), "last": max(times, default=0),
        })  # fmt: skip

    async def records(request: web.Request) -> web.Response:
        """Every accepted push, decrypted: who, arrival, headers, payload."""
        out = []
        for who, at, headers, body in state.records:
            if who.startswith("wp:"):
                payload = decrypt(int(who[3:]), state.seed, body)
            else:
                payload = json.loads(body)["message"]
            out.append({"who": who, "at": at, "headers": headers, "payload": payload})
        return web.json_response(out)

    async def reset(request: web.Request) -> web.Response:
        state.records.clear()
        state.answers.clear()
        return web.json_response({})

    application = web.Application(client_max_size=64 * 1024)
    application.add_routes([
        web.post("/wp/{n}", web_push), web.post("/api/send", http_api),
        web.post("/control", control), web.get("/stats", stats), web.get("/records", records),
        web.post("/reset", reset),
    ])  # fmt: skip
    return application


class Receiver:
    """The receiver in its own process, driven over HTTP."""

    def __init__(
        self, port: int, seed: int = 7, verify_every: int = 1, log: Path | None = None
    ) -> None:
        self.port, self.seed = port, seed
        self.url = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "bench.pushreceiver", "--port", str(port),
                "--seed", str(seed), "--verify-every", str(verify_every)]  # fmt: skip
        root = Path(__file__).resolve().parent.parent
        out = log.open("w") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(argv, cwd=root, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the push receiver did not start")

    def subscription(self, n: int) -> dict[str, Any]:
        return subscription(n, self.seed, self.url)

    def _call(self, path: str, body: dict[str, Any] | None = None, timeout: float = 600) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def control(self, **settings: float | bool) -> None:
        self._call("/control", settings)

    def stats(self) -> dict[str, Any]:
        return self._call("/stats", timeout=5)

    def records(self) -> list[dict[str, Any]]:
        return self._call("/records")

    def reset(self) -> None:
        self._call("/reset", {})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def main() -> None:
    from aiohttp import web

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verify-every", type=int, default=1, help="check VAPID on 1 in N")
    args = parser.parse_args()

    async def serve() -> None:
        runner = web.AppRunner(app(State(args.seed), args.verify_every), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port, backlog=1024).start()
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
