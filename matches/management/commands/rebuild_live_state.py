from django.core.management.base import BaseCommand, CommandParser

from matches.live import live_state_rebuild


class Command(BaseCommand):
    help = "Recreate the Redis live state (snapshots, timelines, live index) from PostgreSQL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--live-only", action="store_true", help="only matches in play")

    def handle(self, *args: object, live_only: bool, **options: object) -> None:
        count = live_state_rebuild(only_live=live_only)
        self.stdout.write(f"live state rebuilt for {count} matches")
