from django.db import migrations


def _fillfactor(value: str):
    def apply(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE predictions_prediction {value}")

    return apply


class Migration(migrations.Migration):
    """Settlement rewrites every prediction of a match once (points, settled_version, status,
    none of them indexed). With free space left on each page PostgreSQL updates such rows in
    place (HOT updates) instead of adding entries to every index. PostgreSQL only."""

    dependencies = [("predictions", "0001_initial")]

    operations = [
        migrations.RunPython(_fillfactor("SET (fillfactor = 70)"), _fillfactor("RESET (fillfactor)")),
    ]
