"""The real stack on 127.0.0.1 for the benchmarks that need the whole system: the web process
as deployed (scripts/serve.sh, uvicorn), one Celery worker on every queue, the suite's
PostgreSQL and Redis (scripts/bench.sh starts them), and the 2022 final to replay."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from bench.topology import healthy, wait_for
from core.net import free_port

ROOT = Path(__file__).resolve().parent.parent
FINAL = "arg-vs-fra-2022-12-18"
QUEUES = "events,settlement,notifications,default,realtime"


class LocalStack:
    """`with LocalStack(logs, env) as stack:` the web process on `stack.port`, a worker."""

    def __init__(self, logs: Path, env: dict[str, str] | None = None) -> None:
        self.logs = logs
        self.env = {**os.environ, "LIVESCORE_VAR_DIR": str(logs), "WS_IDLE_TIMEOUT": "60",
                    **(env or {})}  # fmt: skip
        self.port = free_port()
        self.procs: list[subprocess.Popen] = []
        self.slug, self.room = "", 0

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.procs.append(
            subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        )

    def __enter__(self) -> LocalStack:
        from matches.worldcup import worldcup_load

        worldcup_load(year=2022)
        if multiproc := self.env.get("PROMETHEUS_MULTIPROC_DIR"):
            Path(multiproc).mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                       cwd=ROOT, env=self.env, check=True)  # fmt: skip
        web_env = {**self.env, "WEB_PORT": str(self.port), "HOST": "127.0.0.1",
                   "ASGI_SERVER": "uvicorn"}  # fmt: skip
        self._start("web", ["bash", "scripts/serve.sh"], web_env)
        celery = str(Path(sys.executable).parent / "celery")
        self._start("worker", [celery, "-A", "livescore", "worker", "-Q", QUEUES, "-c", "2",
                               "-l", "warning"], self.env)  # fmt: skip
        wait_for(lambda: healthy(self.port), 60, "the web process")
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def replay(self, speed: float, stop: threading.Event | None = None, chaos: bool = True):  # type: ignore[no-untyped-def]
        """Replay the final once, as a match kicking off now (returns the plan, after it)."""
        from chat import services as chat_services
        from matches import simulator
        from matches.models import Match

        source = Match.objects.select_related("home", "away").get(slug=FINAL)
        replay = simulator.replay_create(source=source)
        self.slug, self.room = replay.slug, chat_services.room_for_match(replay.pk).pk
        plan = simulator.replay_plan(source=source, replay=replay)
        if chaos:
            plan = simulator.add_chaos(plan, home_code="ARG")
        send = lambda event: simulator.post_event(base_url=self.web, provider="demo", event=event)  # noqa: E731
        for _ in simulator.run(plan, speed=speed, send=send):
            if stop is not None and stop.is_set():
                break
        return plan

    def replay_forever(self, speed: float, stop: threading.Event) -> None:
        """The demo's traffic: the final again and again (as `make run` does), until stopped."""
        while not stop.is_set():
            self.replay(speed, stop)
            stop.wait(5)
