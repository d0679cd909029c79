import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser

from matches.worldcup import worldcup_load


class Command(BaseCommand):
    help = "Load a World Cup (2022 by default, or 2026 with squads). Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, choices=[2022, 2026], default=2022)
        parser.add_argument(
            "--as-of",
            type=_moment,
            help="load the tournament as it stood then, e.g. 2026-06-24T00:00Z: later "
            "matches are scheduled, later knockout matches fixtures (docs/tournament.md)",
        )

    def handle(
        self, *args: object, year: int, as_of: dt.datetime | None, **options: object
    ) -> None:
        report = worldcup_load(year=year, as_of=as_of)
        self.stdout.write(
            f"World Cup {year}: {report.created} matches loaded ({report.goals} goals), "
            f"{report.skipped} already present, {report.fixtures} knockout fixtures to decide"
        )


def _moment(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(f"--as-of: not a date and time: {value!r}") from None
    if moment.tzinfo is None:
        raise CommandError("--as-of needs a time zone, e.g. 2026-06-24T00:00Z")
    return moment
