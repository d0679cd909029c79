"""A room for every match and league that existed before chat did."""

from typing import Any

from django.db import migrations


def create_rooms(apps: Any, schema_editor: Any) -> None:
    Room = apps.get_model("chat", "Room")
    Match = apps.get_model("matches", "Match")
    League = apps.get_model("predictions", "League")
    Room.objects.bulk_create(
        [
            Room(match_id=pk)
            for pk in Match.objects.filter(chat_room__isnull=True).values_list("pk", flat=True)
        ]
        + [
            Room(league_id=pk)
            for pk in League.objects.filter(chat_room__isnull=True).values_list("pk", flat=True)
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]

    operations = [migrations.RunPython(create_rooms, migrations.RunPython.noop)]
