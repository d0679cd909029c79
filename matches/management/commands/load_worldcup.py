from django.core.management.base import BaseCommand, CommandParser

from matches.worldcup import worldcup_load


class Command(BaseCommand):
    help = "Load a World Cup (2022 by default, or 2026 with squads). Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, choices=[2022, 2026], default=2022)

    def handle(self, *args: object, year: int, **options: object) -> None:
        report = worldcup_load(year=year)
        self.stdout.write(
            f"World Cup {year}: {report.created} matches loaded ({report.goals} goals), "
            f"{report.skipped} already present"
        )
