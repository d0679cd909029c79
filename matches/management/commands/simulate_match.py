import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from matches import simulator
from matches.models import Match


class Command(BaseCommand):
    help = (
        "Replay a loaded match live through the signed provider feed, as a new match kicking "
        "off now. Example: simulate_match arg-vs-fra-2022-12-18 --speed 60"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="a loaded match, e.g. arg-vs-fra-2022-12-18")
        parser.add_argument("--speed", type=float, default=60.0, help="times real time")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="livescore base URL")
        parser.add_argument("--provider", default="demo")
        parser.add_argument(
            "--lead",
            type=float,
            default=0.0,
            help="seconds between creating the match and its kick-off (predictions are open)",
        )
        parser.add_argument(
            "--chaos",
            action="store_true",
            help="add a VAR-disallowed goal, a duplicate and an out-of-order event",
        )

    def handle(self, *args: object, **opts: Any) -> None:
        source = Match.objects.select_related("home", "away").filter(slug=opts["slug"]).first()
        if source is None:
            raise CommandError(f"no match {opts['slug']}; run load_worldcup first")
        if float(opts["speed"]) <= 0:
            raise CommandError("--speed must be positive")
        if float(opts["lead"]) < 0:
            raise CommandError("--lead must not be negative")
        replay = simulator.replay_create(source=source, lead_seconds=float(opts["lead"]))
        plan = simulator.replay_plan(source=source, replay=replay)
        if opts["chaos"]:
            plan = simulator.add_chaos(plan, home_code=source.home.code)
        self.stdout.write(f"replaying {source.slug} as {replay.slug}: {len(plan)} feed events")

        def send(event: dict) -> int:
            return simulator.post_event(
                base_url=opts["url"], provider=opts["provider"], event=event
            )

        # What a provider sends before kick-off (the line-ups) goes out at once.
        before = [p for p in plan if p.clock < 0]
        for planned, status in simulator.run(before, speed=float(opts["speed"]), send=send):
            self._report(planned, status)
        if opts["lead"]:
            self.stdout.write(f"  predictions open until kick-off at {replay.kickoff:%H:%M:%S} UTC")
            time.sleep(float(opts["lead"]))
        during = plan[len(before) :]
        for planned, status in simulator.run(during, speed=float(opts["speed"]), send=send):
            self._report(planned, status)
        self.stdout.write(f"replay of {replay.slug} sent")

    def _report(self, planned: simulator.Planned, status: int) -> None:
        e = planned.event
        label = e.get("status") or e["kind"]
        self.stdout.write(
            f"  {e.get('minute', '')!s:>4}' {label:<16} {e.get('team', '')} -> {status}"
        )
