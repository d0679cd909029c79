"""The multi-node topology on one machine: each part a real server on its own loopback port.

    HAProxy (deploy/haproxy.cfg) -> 4 gateway processes (uvicorn)
    Redis by role: general (REDIS_URL), Celery broker, leaderboards, and 3 live-state shards
    Celery workers, one per queue (the events worker embeds beat's reconcilers)
    PgBouncer in transaction mode -> PostgreSQL

The same shape as deploy/compose.yaml, started as processes. tests/integration/test_topology.py
brings it up against the suite's PostgreSQL and kills parts of it; run by hand it comes up
against a PostgreSQL of its own and stays until Ctrl-C:

    .venv/bin/python -m bench.topology          # prints the load balancer's address
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from core.net import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
QUEUES = ("events", "realtime", "settlement", "notifications", "default")
APPLICATION_NAME = "livescore-topology"  # its sessions, in pg_stat_activity
REDIS_ROLES = ("general", "broker", "boards", "live0", "live1", "live2")


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(what)


def _unprivileged(argv: list[str]) -> list[str]:
    """PgBouncer refuses to run as root: as root, run it as the project's PostgreSQL user
    (scripts/lib.sh creates it)."""
    if os.geteuid() != 0:
        return argv
    subprocess.run(
        ["bash", "-c", f". {ROOT}/scripts/lib.sh && as_pg_user true"], check=True, cwd=ROOT
    )
    return ["runuser", "-u", "livescore-pg", "--", *argv]


@dataclass
class Part:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int = 0
    handle: subprocess.Popen | None = None

    def start(self) -> None:
        self.handle = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a kill takes its children (a worker's pool) with it
        )

    @property
    def running(self) -> bool:
        return self.handle is not None and self.handle.poll() is None

    def kill(self) -> None:
        """SIGKILL the part and its children, as a lost machine would."""
        if self.running:
            assert self.handle is not None
            os.killpg(self.handle.pid, signal.SIGKILL)
            self.handle.wait(timeout=10)

    def stop(self) -> None:
        if not self.running:
            return
        assert self.handle is not None
        os.killpg(self.handle.pid, signal.SIGTERM)
        try:
            self.handle.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Topology:
    """`database_url`: the PostgreSQL behind PgBouncer (postgres://user@host:port/name)."""

    database_url: str
    workdir: Path
    gateways: int = 4
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    parts: dict[str, Part] = field(default_factory=dict)
    redis: dict[str, str] = field(default_factory=dict)  # role -> URL

    # ---- the whole -------------------------------------------------------------------------

    def up(self) -> Topology:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        for role in REDIS_ROLES:
            self._start_redis(role)
        self._start_pgbouncer()
        self.app_env = self._app_env()
        for n in range(1, self.gateways + 1):
            self._start_gateway(n)
        for queue in QUEUES:
            self._start_worker(queue)
        self._start_haproxy()
        return self

    def down(self) -> None:
        for part in reversed(list(self.parts.values())):
            part.stop()
        self._wait_sessions_closed()

    def _wait_sessions_closed(self) -> None:
        """PostgreSQL ends PgBouncer's server sessions a moment after PgBouncer exits: wait,
        so the database can be dropped or reused at once."""
        import psycopg

        query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
        try:
            with psycopg.connect(self.database_url, autocommit=True) as db:

                def closed() -> bool:
                    row = db.execute(query, [APPLICATION_NAME]).fetchone()
                    return row is not None and row[0] == 0

                wait_for(closed, 10, "PgBouncer's sessions to close")
        except (psycopg.Error, TimeoutError):
            pass  # best effort: the caller's own teardown reports what is left

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.parts['haproxy'].port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.parts['haproxy'].port}/ws/"

    @property
    def stats_url(self) -> str:
        return f"http://127.0.0.1:{self.stats_port}/stats;csv"

    def gateways_up(self) -> set[str]:
        """The gateways HAProxy routes to now (its health checks' view)."""
        with urllib.request.urlopen(self.stats_url, timeout=5) as response:
            rows = response.read().decode().splitlines()
        header = rows[0].lstrip("# ").split(",")
        up = set()
        for row in rows[1:]:
            cells = dict(zip(header, row.split(","), strict=False))
            if cells.get("pxname") == "gateways" and cells.get("svname", "").startswith("gate"):
                if cells.get("status") == "UP":
                    up.add(cells["svname"])
        return up

    # ---- the parts -------------------------------------------------------------------------

    def _start_redis(self, role: str) -> None:
        port = free_port()
        binary = os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server") or ""
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--maxclients", "10000", "--dir", str(self.workdir)]
        part = Part(f"redis-{role}", argv, self.env, self.workdir / f"redis-{role}.log", port)
        self.parts[part.name] = part
        self.redis[role] = f"redis://127.0.0.1:{port}/0"
        self.start_redis(role)

    def start_redis(self, role: str) -> None:
        """(Re)start a Redis server, empty, on its own port, and wait until it answers."""
        import redis

        part = self.parts[f"redis-{role}"]
        part.start()

        def answers() -> bool:
            try:
                return bool(redis.Redis.from_url(self.redis[role], socket_timeout=0.5).ping())
            except redis.RedisError:
                return False

        wait_for(answers, 10, f"redis {role} to start")

    def _start_pgbouncer(self) -> None:
        from urllib.parse import urlsplit

        target = urlsplit(self.database_url)
        port = free_port()
        users = self.workdir / "pgbouncer-users.txt"
        users.write_text(f'"{target.username}" ""\n')
        ini = self.workdir / "pgbouncer.ini"
        ini.write_text(
            (ROOT / "deploy" / "pgbouncer.ini")
            .read_text()
            .replace("host=postgres port=5432", f"host={target.hostname} port={target.port}")
            .replace("listen_addr = 0.0.0.0", "listen_addr = 127.0.0.1")
            .replace("listen_port = 6432", f"listen_port = {port}")
            .replace("/etc/pgbouncer/userlist.txt", str(users))
        )
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        log = self.workdir / "pgbouncer.log"
        log.touch()
        for path in (ini, users, log):
            path.chmod(0o644)
        part = Part("pgbouncer", _unprivileged([binary, str(ini)]), self.env, log, port)
        self.parts[part.name] = part
        part.start()
        wait_for(lambda: _accepts(port), 10, "pgbouncer to listen")
        self.pgbouncer_url = target._replace(netloc=f"{target.username}@127.0.0.1:{port}").geturl()

    def _app_env(self) -> dict[str, str]:
        live = ",".join(self.redis[f"live{n}"] for n in range(3))
        return {
            **self.env,
            "DATABASE_URL": self.pgbouncer_url,
            "DATABASE_PGBOUNCER": "1",
            "DATABASE_POOL_MAX_SIZE": "0",  # PgBouncer is the pool
            "REDIS_URL": self.redis["general"],
            "CELERY_BROKER_URL": self.redis["broker"],
            "REDIS_LEADERBOARD_URL": self.redis["boards"],
            "REDIS_LIVE_URLS": live,
            "LIVESCORE_VAR_DIR": str(self.workdir / "var"),
            "DATABASE_APPLICATION_NAME": APPLICATION_NAME,
        }

    def _start_gateway(self, n: int) -> None:
        port = free_port()
        env = {**self.app_env, "ASGI_SERVER": "uvicorn", "WEB_PORT": str(port)}
        env["HOST"] = "127.0.0.1"
        argv = ["bash", str(ROOT / "scripts" / "serve.sh")]
        part = Part(f"gateway-{n}", argv, env, self.workdir / f"gateway-{n}.log", port)
        self.parts[part.name] = part
        self.start_gateway(n)

    def start_gateway(self, n: int) -> None:
        part = self.parts[f"gateway-{n}"]
        part.start()
        wait_for(lambda: healthy(part.port), 60, f"gateway {n} to answer")

    def _start_worker(self, queue: str) -> None:
        argv = [str(BIN / "celery"), "-A", "livescore", "worker", "-Q", queue, "-c", "1"]
        argv += ["-n", f"{queue}@%h", "-l", "info", "--without-gossip", "--without-mingle"]
        if queue == "events":  # the periodic reconcilers, once in the whole topology
            argv += ["-B", "-s", str(self.workdir / "celerybeat-schedule")]
        log = self.workdir / f"worker-{queue}.log"
        part = Part(f"worker-{queue}", argv, self.app_env, log)
        self.parts[part.name] = part
        part.start()
        wait_for(lambda: "ready." in log.read_text(errors="replace"), 60, f"{queue} worker")

    def _start_haproxy(self) -> None:
        port, self.stats_port = free_port(), free_port()
        env = {**self.env, "LB_BIND": f"127.0.0.1:{port}"}
        env["LB_STATS_BIND"] = f"127.0.0.1:{self.stats_port}"
        for n in range(1, 5):
            gateway = self.parts.get(f"gateway-{min(n, self.gateways)}")
            assert gateway is not None
            env[f"GATEWAY_{n}"] = f"127.0.0.1:{gateway.port}"
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        argv = [binary, "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")]
        part = Part("haproxy", argv, env, self.workdir / "haproxy.log", port)
        self.parts[part.name] = part
        part.start()
        wait_for(lambda: healthy(port), 20, "haproxy to route")
        wait_for(lambda: len(self.gateways_up()) == min(4, self.gateways), 20, "health checks")


def _accepts(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def healthy(port: int) -> bool:
    """The server on `port` answers its liveness probe."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateways", type=int, default=4)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="livescore-topology-"))
    # A PostgreSQL of its own (scripts/lib.sh), migrated through PgBouncer like the rest.
    pg_port = free_port()
    subprocess.run(
        ["bash", "-c", f". scripts/lib.sh && start_postgres {workdir} {pg_port}"],
        cwd=ROOT,
        check=True,
    )
    database = f"postgres://postgres@127.0.0.1:{pg_port}/postgres"
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "livescore.settings"}
    topology = Topology(database, workdir, args.gateways, env)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as on Ctrl-C
    try:
        topology.up()
        subprocess.run(
            [str(BIN / "python"), "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            env=topology.app_env,
            check=True,
        )
        print(f"load balancer {topology.url}  statistics {topology.stats_url}", flush=True)
        print(f"logs in {workdir}; Ctrl-C stops everything", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        topology.down()
        subprocess.run(
            ["bash", "-c", f". scripts/lib.sh && stop_postgres {workdir}"], cwd=ROOT, check=False
        )


if __name__ == "__main__":
    main()
