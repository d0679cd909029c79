from django.db import migrations


def _fillfactor(value: str):
    def apply(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE predictions_prediction {value}")

    return apply


class Migration(migrations.Migration):
    """Settlement rewrites every prediction of a match once (points, settled_version, status,
    none of them indexed). When the new version fits on the same page PostgreSQL updates in
    place (HOT) instead of adding an entry to every index. One settlement pass updates every
    row of a page, so the page needs room for a second copy of all of them: fillfactor 50
    (at 70 only about 45% of the updates were HOT, bench/settlement.py). PostgreSQL only."""

    dependencies = [("predictions", "0001_initial")]

    operations = [
        migrations.RunPython(
            _fillfactor("SET (fillfactor = 50)"), _fillfactor("RESET (fillfactor)")
        ),
    ]
