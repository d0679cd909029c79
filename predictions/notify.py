"""What fans see when a settlement completes: leaderboard frames and personal frames."""

from __future__ import annotations

from django.db import connection

from predictions import leaderboard
from predictions.models import SettlementChunk
from realtime import publish
from realtime.events import encode

TOP_IN_FRAME = 10


def run_completed(*, chunk_id: int) -> list[int]:
    """Publish the new top of the affected boards; returns the run's chunk ids."""
    chunk = SettlementChunk.objects.select_related("run__match").get(pk=chunk_id)
    for scope in ("global", f"match:{chunk.run.match.slug}"):
        channel = f"leaderboard:{scope}"
        top = [[e.user_id, e.points] for e in leaderboard.top(scope, TOP_IN_FRAME)]
        publish.publish_frame(channel, encode({"ch": channel, "t": "lb", "d": {"top": top}}))
    return list(chunk.run.chunks.values_list("id", flat=True))


def chunk_fans(*, chunk_id: int) -> int:
    """Tell each fan of a chunk their points on the match, total and rank."""
    chunk = SettlementChunk.objects.select_related("run__match").get(pk=chunk_id)
    match = chunk.run.match
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT p.user_id, SUM(p.points), MAX(s.points)
               FROM predictions_prediction p JOIN predictions_userscore s USING (user_id)
               WHERE p.match_id = %s AND p.user_id BETWEEN %s AND %s GROUP BY p.user_id""",
            [match.pk, chunk.user_from, chunk.user_to],
        )
        rows = cursor.fetchall()
    ranks = leaderboard.ranks("global", [user_id for user_id, _, _ in rows])
    pipe = publish.client().pipeline(transaction=False)
    for (user_id, points, total), rank in zip(rows, ranks, strict=True):
        channel = f"user:{user_id}"
        data = {"m": match.slug, "pts": points, "tot": total, "rank": rank}
        pipe.publish(f"rt:{channel}", encode({"ch": channel, "t": "points", "d": data}))
    pipe.execute()
    return len(rows)
