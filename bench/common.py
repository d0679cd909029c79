"""What the benchmarks share: starting servers and waiting for them, reading a process's
memory and CPU from /proc, percentiles, and writing `--json` results."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.net import free_port
from realtime.channels import pubsub_name

ROOT = Path(__file__).resolve().parent.parent


# ---- processes -------------------------------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU of a process and its children (a Celery worker and its pool)."""
    total = cpu_seconds(pid)
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    for child in children.stdout.split():
        try:
            total += tree_cpu(int(child))
        except FileNotFoundError:
            pass
    return total


# ---- servers -----------------------------------------------------------------------------------


@dataclass
class Variant:
    name: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


def start_servers(
    name: str, count: int, env: dict[str, str], logs: Path, channel: str = ""
) -> Variant:
    """`count` processes of one server variant: `floor` (bench/floor_server.py, reading
    `channel`'s pub/sub), `livescore-<server>` or `stock-<server>` (scripts/serve.sh)."""
    variant = Variant(name)
    bin_dir = Path(sys.executable).parent
    for index in range(count):
        port = free_port()
        log = (logs / f"{name}-{index}.log").open("w")
        if name == "floor":
            argv = [sys.executable, str(ROOT / "bench" / "floor_server.py"), str(port)]
            argv += [env["REDIS_URL"], pubsub_name(channel)]
            path = "/"
        else:
            server = name.split("-")[1]
            argv = ["bash", str(ROOT / "scripts" / "serve.sh")]
            env = {**env, "ASGI_SERVER": server, "WEB_PORT": str(port), "VENV": str(bin_dir.parent)}
            path = "/ws/stock/" if name.startswith("stock") else "/ws/"
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        variant.processes.append(proc)
        variant.urls.append(f"ws://127.0.0.1:{port}{path}")
        wait_port(port, proc)
    return variant


def wait_port(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited")
        time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not listen")


def server_pids(variant: Variant) -> list[int]:
    """The real server pids (serve.sh execs the server, so the shell pid is the server)."""
    return [p.pid for p in variant.processes]


def stop(variant: Variant) -> None:
    for proc in variant.processes:
        proc.send_signal(signal.SIGTERM)
    for proc in variant.processes:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


# ---- results -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def to_ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def write_json(path: str | Path | None, results: Any) -> None:
    """`--json PATH`: the results, indented, for docs/benchmarks.md and comparisons."""
    if path:
        Path(path).write_text(json.dumps(results, indent=2))
