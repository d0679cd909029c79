"""What fans see on their sockets when a settlement completes: leaderboard frames and each
fan's personal frame. (Push notifications are another app's job.)"""

from __future__ import annotations

from django.db import connection

from predictions import leaderboard
from predictions.models import SettlementChunk, SettlementRun
from realtime.channels import leaderboard_channel, user_channel
from realtime.frames import Frame, leaderboard_frame, points_frame
from realtime.publish import publish_on_commit

TOP_IN_FRAME = 10


def run_boards(*, run_id: int) -> list[int]:
    """Publish the new top of the boards a completed run changed; returns its chunk ids."""
    run = SettlementRun.objects.select_related("match").get(pk=run_id)
    frames = [
        leaderboard_frame(
            leaderboard_channel(scope),
            {"top": [[e.user_id, e.points] for e in leaderboard.top(scope, TOP_IN_FRAME)]},
        )
        for scope in (leaderboard.GLOBAL, leaderboard.match_scope(run.match.slug))
    ]
    publish_on_commit(*frames)
    return list(run.chunks.values_list("id", flat=True))


def fans_points(chunk: SettlementChunk) -> list[tuple[int, int, int, int | None]]:
    """(user id, points on the match, total points, global rank) of each fan of a chunk."""
    match = chunk.run.match
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT p.user_id, SUM(p.points), MAX(s.points)
               FROM predictions_prediction p JOIN predictions_userscore s USING (user_id)
               WHERE p.match_id = %s AND p.user_id BETWEEN %s AND %s GROUP BY p.user_id""",
            [match.pk, chunk.user_from, chunk.user_to],
        )
        rows = cursor.fetchall()
    ranks = leaderboard.ranks(leaderboard.GLOBAL, [user_id for user_id, _, _ in rows])
    return [(u, p, t, rank) for (u, p, t), rank in zip(rows, ranks, strict=True)]


def chunk_fans(*, chunk_id: int) -> int:
    """Tell each fan of a chunk their points on the match, total and global rank."""
    chunk = SettlementChunk.objects.select_related("run__match").get(pk=chunk_id)
    match = chunk.run.match
    frames: list[Frame] = [
        points_frame(
            user_channel(user_id), {"m": match.slug, "pts": points, "tot": total, "rank": rank}
        )
        for user_id, points, total, rank in fans_points(chunk)
    ]
    publish_on_commit(*frames)
    return len(frames)
