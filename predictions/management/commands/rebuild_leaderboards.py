from django.core.management.base import BaseCommand

from predictions.leaderboard import rebuild_all


class Command(BaseCommand):
    help = "Recreate every leaderboard in Redis from PostgreSQL."

    def handle(self, *args: object, **options: object) -> None:
        counts = rebuild_all()
        self.stdout.write(
            f"leaderboards rebuilt: global {counts['global']}, match entries {counts['match']}, "
            f"league entries {counts['league']}"
        )
