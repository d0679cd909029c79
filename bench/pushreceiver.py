"""A local push service for tests and bench/notify.py, on 127.0.0.1.

It implements the Web Push endpoint (RFC 8030: POST /wp/<n>, answers 201) and the HTTP-API
backend's endpoint (POST /api/send, JSON, answers 200), records every request with its
arrival time and headers, and decrypts Web Push payloads with the subscription's private
key (RFC 8291, http_ece): subscription n's keys come from `subscription(n, seed)`, so the
sender side registers devices without any key changing hands. VAPID tokens are verified.

It serves plain HTTP, or HTTPS with a self-signed certificate (`--tls PATH`: written there
for the senders to trust), and can hold every answer for a fixed delay (`--latency-ms`) as a
push service across the internet would. It can be told (POST /control) to answer 429 (with
Retry-After) to a share of requests, 410 to a share of subscriptions (always the same ones:
a gone device stays gone), 500 to a share, or to stall: accept requests and hold the
answers until released.

    python -m bench.pushreceiver --port 8900 --seed 7 [--tls CERT_PATH] [--latency-ms 20]

`make run` starts one with `--register`: like a fan's browser, it signs in to the demo,
follows ARG for every kind, registers its subscription, and prints each push it receives.
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


def gone(who: str, share: float) -> bool:
    """Whether the receiver answers 410 to this subscription (`wp:<n>`, `http:<token>`) when
    told to answer 410 to `share` of them: the same ones every time."""
    return int(hashlib.sha256(f"gone:{who}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


class State:
    def __init__(self, seed: int, show: bool = False) -> None:
        self.show = show
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
        if gone(who, self.control["p410"]):
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


def self_signed(cert_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost (cert_path) and its key (beside it)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = time.time()
    import datetime as dt

    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime.fromtimestamp(now - 60, dt.UTC))
        .not_valid_after(dt.datetime.fromtimestamp(now + 86400, dt.UTC))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_path = cert_path.with_suffix(".key")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def app(state: State, verify_every: int, latency: float = 0.0) -> Any:
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
            if state.show and who.startswith("wp:"):
                shown = decrypt(int(who[3:]), state.seed, body)
                print(
                    f"push [{shown['kind']}] {shown['title']}  {shown.get('body', '')}", flush=True
                )
        state.answers[status or ok] = state.answers.get(status or ok, 0) + 1
        state.waiting += 1
        try:
            if latency:
                await asyncio.sleep(latency)
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

    async def summary(request: web.Request) -> web.Response:
        """Every accepted Web Push payload decrypted and counted: how many decrypt, how many
        devices, how many got the same payload id more than once."""
        seen: dict[tuple[str, str], int] = {}
        failed = 0
        for who, _, _, body in state.records:
            if not who.startswith("wp:"):
                continue
            try:
                payload = decrypt(int(who[3:]), state.seed, body)
            except Exception:  # noqa: BLE001 - counted: a payload that does not decrypt
                failed += 1
                continue
            key = (who, str(payload.get("id")))
            seen[key] = seen.get(key, 0) + 1
        return web.json_response({
            "decrypted": sum(seen.values()), "undecryptable": failed,
            "devices": len({who for who, _ in seen}),
            "duplicates": sum(n - 1 for n in seen.values()),
        })  # fmt: skip

    async def reset(request: web.Request) -> web.Response:
        state.records.clear()
        state.answers.clear()
        return web.json_response({})

    application = web.Application(client_max_size=64 * 1024)
    application.add_routes([
        web.post("/wp/{n}", web_push), web.post("/api/send", http_api),
        web.post("/control", control), web.get("/stats", stats), web.get("/records", records),
        web.get("/summary", summary),
        web.post("/reset", reset),
    ])  # fmt: skip
    return application


class Receiver:
    """The receiver in its own process, driven over HTTP."""

    def __init__(
        self,
        port: int,
        seed: int = 7,
        verify_every: int = 1,
        log: Path | None = None,
        tls: Path | None = None,
        latency_ms: int = 0,
    ) -> None:
        self.port, self.seed, self.cert = port, seed, tls
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "bench.pushreceiver", "--port", str(port),
                "--seed", str(seed), "--verify-every", str(verify_every),
                "--latency-ms", str(latency_ms)]  # fmt: skip
        if tls:
            argv += ["--tls", str(tls)]
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
        import ssl

        context = ssl.create_default_context(cafile=str(self.cert)) if self.cert else None
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return json.loads(response.read())

    def control(self, **settings: float | bool) -> None:
        self._call("/control", settings)

    def stats(self) -> dict[str, Any]:
        return self._call("/stats", timeout=5)

    def records(self) -> list[dict[str, Any]]:
        return self._call("/records")

    def summary(self) -> dict[str, Any]:
        return self._call("/summary")

    def reset(self) -> None:
        self._call("/reset", {})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def register(base: str, sub: dict[str, Any]) -> None:
    """Act as the demo fan's browser: sign in, follow ARG for every kind, register `sub`."""
    import os

    user = os.environ.get("DEMO_OPERATOR_USER", "operator")
    password = os.environ.get("DEMO_OPERATOR_PASSWORD", "livescore-demo")

    def call(path: str, body: dict[str, Any], token: str = "") -> Any:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        request = urllib.request.Request(base + path, json.dumps(body).encode(), headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    for _ in range(120):
        try:
            token = call("/api/v1/auth/token/", {"username": user, "password": password})["token"]
            break
        except OSError:
            time.sleep(1)
    else:
        print("push receiver: the demo did not answer; not registered", flush=True)
        return
    kinds = ["kickoff", "goal", "red_card", "half_time", "full_time", "var", "points"]
    call("/api/v1/push/follows/", {"team": "ARG", "kinds": kinds}, token)
    call("/api/v1/push/devices/", {"device_id": "demo-receiver", "subscription": sub}, token)
    print(
        f"push receiver: {user} follows ARG; pushes are printed here (a goal watched live in "
        "a signed-in browser is not pushed to the same fan)",
        flush=True,
    )


def main() -> None:
    from aiohttp import web

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verify-every", type=int, default=1, help="check VAPID on 1 in N")
    parser.add_argument("--tls", type=Path, help="serve HTTPS; write the certificate here")
    parser.add_argument("--latency-ms", type=int, default=0, help="hold each answer this long")
    parser.add_argument("--register", metavar="URL", help="sign in there and follow ARG")
    args = parser.parse_args()
    context = None
    if args.tls:
        import ssl

        cert, key = self_signed(args.tls)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)

    async def serve() -> None:
        state = State(args.seed, show=bool(args.register))
        handler = app(state, args.verify_every, args.latency_ms / 1000)
        runner = web.AppRunner(handler, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port, backlog=4096, ssl_context=context)
        await site.start()
        if args.register:
            own = f"{'https' if args.tls else 'http'}://127.0.0.1:{args.port}"
            await asyncio.to_thread(register, args.register, subscription(1, args.seed, own))
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
