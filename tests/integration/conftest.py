"""Real processes for tests that cross them: a Celery worker, Daphne and uvicorn.

They share the test PostgreSQL database (tests use `transactional_db` so rows are committed
and visible to them) and the test Redis; the worker gets a broker database of its own so that
unit tests that look into the broker's queues never race it.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import TransactionTestCase

from core.net import free_port
from core.redis import client as redis_client

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


_flush = TransactionTestCase._fixture_teardown


def _flush_retrying_deadlocks(self: TransactionTestCase) -> None:
    """Empty the database after a test, again if PostgreSQL chose the TRUNCATE as a deadlock
    victim: a real worker may still be finishing a task of that test (a gap re-check, say)
    while the tables are emptied."""
    for attempt in range(5):
        try:
            return _flush(self)
        except Exception as exc:
            if "deadlock detected" not in f"{exc} {exc.__cause__}" or attempt == 4:
                raise
            time.sleep(0.5)


TransactionTestCase._fixture_teardown = _flush_retrying_deadlocks  # type: ignore[method-assign]


def wait_until(check, timeout: float = 60, what: str = "condition"):
    """Poll `check` until it returns something true; that value is returned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise TimeoutError(what)


def db_dsn() -> str:
    db = settings.DATABASES["default"]
    return f"host={db['HOST']} port={db['PORT']} user={db['USER']} dbname={db['NAME']}"


METRICS_TOKEN = "integration-metrics-token"


@pytest.fixture(scope="session")
def stack_env(django_db_setup, tmp_path_factory) -> dict[str, str]:
    db = settings.DATABASES["default"]
    broker = settings.REDIS_URL.rsplit("/", 1)[0] + "/2"
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "WS_IDLE_TIMEOUT": "8",  # short, for the idle-close tests; slack for a loaded machine
        "LIVESCORE_VAR_DIR": str(tmp_path_factory.mktemp("var")),
        # Every server and worker of the suite counts into one place, as in production.
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("prometheus")),
        "METRICS_TOKEN": METRICS_TOKEN,
    }


class Process:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log = name, log
        self.handle = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.handle.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.handle.terminate()
        try:
            self.handle.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.handle.kill()

    def kill_all(self) -> None:
        """SIGKILL the process and its children (a worker's pool), as an OOM killer or a
        lost machine would."""
        children = subprocess.run(
            ["pgrep", "-P", str(self.handle.pid)], capture_output=True, text=True
        ).stdout.split()
        for pid in [self.handle.pid, *map(int, children)]:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.handle.wait(timeout=10)


def start_worker(
    env: dict[str, str],
    log: Path,
    queues: str = "events",
    beat: bool = False,
    concurrency: int = 1,
) -> Process:
    """A Celery worker on `queues`; `beat` embeds the periodic reconcilers."""
    argv = [str(BIN / "celery"), "-A", "livescore", "worker", "-Q", queues]
    argv += ["-c", str(concurrency)]
    argv += ["-l", "info", "--without-gossip", "--without-mingle"]
    if beat:
        argv += ["-B", "-s", str(log.with_suffix(".schedule"))]
    worker = Process(f"{queues} worker", argv, env, log)
    worker.wait_for_log("ready.")
    return worker


class TcpProxy:
    """A loopback TCP proxy in front of a server: `cut()` drops every connection and refuses
    new ones, as a network partition or a stopped server would; `restore()` undoes it."""

    def __init__(self, target_port: int) -> None:
        import threading

        self.target_port, self.port = target_port, free_port()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        import threading

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(512)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        import threading

        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                return
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would leave the
            # socket listening until that accept() returned.
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


class RedisServer:
    """A Redis server of a test's own, to restart or pause without touching the suite's."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.workdir = free_port(), workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.handle: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        binary = os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server")
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.workdir)]
        self.handle = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        wait_until(self._answers, 10, "redis to start")

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def crash(self) -> None:
        """SIGKILL: without persistence everything it held (queued messages) is gone."""
        if self.handle is not None:
            self.handle.kill()
            self.handle.wait(timeout=10)

    def pause(self) -> None:
        os.kill(self.handle.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.handle.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.handle is not None and self.handle.poll() is None:
            self.resume()
            self.crash()


@pytest.fixture(scope="session")
def celery_worker(stack_env, tmp_path_factory) -> Iterator[Process]:
    log = tmp_path_factory.mktemp("logs") / "worker.log"
    queues = "events,realtime,settlement,notifications,default"
    worker = start_worker(stack_env, log, queues, concurrency=2)
    yield worker
    worker.stop()


class Server:
    def __init__(self, kind: str, port: int, process: Process) -> None:
        self.kind, self.port, self.process = kind, port, process
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws/"

    def get_json(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())


def start_server(kind: str, env: dict[str, str], logs: Path) -> Server:
    port = free_port()
    env = {**env, "ASGI_SERVER": kind, "WEB_PORT": str(port), "HOST": "127.0.0.1"}
    # The production launcher, so tests run the servers as deployed.
    argv = ["bash", str(ROOT / "scripts" / "serve.sh")]
    process = Process(kind, argv, env, logs / f"{kind}.log")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return Server(kind, port, process)
        except OSError:
            if process.handle.poll() is not None:
                break
            time.sleep(0.2)
    raise RuntimeError(f"{kind} did not start:\n{process.log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def servers(stack_env, celery_worker, tmp_path_factory) -> Iterator[dict[str, Server]]:
    logs = tmp_path_factory.mktemp("server-logs")
    started = {kind: start_server(kind, stack_env, logs) for kind in ("daphne", "uvicorn")}
    yield started
    for server in started.values():
        server.process.stop()


@pytest.fixture
def server(servers) -> Server:
    return servers["daphne"]


@pytest.fixture(autouse=True)
def fresh_redis_state():
    """Each test starts with no live state (the database is emptied between tests too)."""
    from predictions import leaderboard

    redis_client().flushdb()
    # Empty database, empty boards: consistent, so marked built (a lost board is tested on
    # its own in tests/predictions/test_leaderboard_rebuild.py).
    leaderboard.mark_built()


# ---- /metrics ----------------------------------------------------------------------------


def scrape(server) -> str:
    request = urllib.request.Request(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples `name{...}` carrying these labels (0 when there are none)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total
