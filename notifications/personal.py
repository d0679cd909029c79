"""Notices whose text differs per fan: points after settlement, and the reminder before the
prediction lock.

- Points: when a settlement chunk's fans have been told on their sockets, the same chunk
  becomes a chunk of the run's points notice: "You scored 13 points on ARG 3-3 FRA", with
  the fan's total and global rank, to fans whose follows of the match (or its teams) want
  `points`.
- Reminder: PUSH_REMINDER_CHECK seconds apart, beat looks for matches whose lock (kick-off)
  is within a fan's lead time (`reminder_minutes`); one notice per match and lead time, to
  fans who want `reminder` and have not predicted the match yet.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.utils import timezone

from matches.models import Match, MatchStatus
from notifications.backends import Message, Target
from notifications.kinds import KINDS
from notifications.models import Notice, NoticeChunk
from notifications.notices import FOLLOWS_WANTING, scoreline, topic
from predictions.announce import fans_points
from predictions.models import SettlementChunk
from predictions.scoring import VOID_STATUSES

FOLLOWERS = f"""
SELECT DISTINCT d.id, d.user_id, d.backend, d.endpoint, d.p256dh, d.auth, d.token
FROM notifications_follow f
JOIN notifications_device d ON d.user_id = f.user_id
WHERE {FOLLOWS_WANTING} AND f.user_id = ANY(%(users)s)
"""


def _base(kind: str, match: Match, **extra: object) -> dict[str, object]:
    return {"v": 1, "kind": kind, "match": match.slug, "tag": topic(match),
            "url": f"/m/{match.slug}", **extra}  # fmt: skip


def points_chunk(settlement_chunk_id: int) -> NoticeChunk:
    """The points notice's chunk for these fans (created once)."""
    chunk = SettlementChunk.objects.select_related("run__match").get(pk=settlement_chunk_id)
    run, match = chunk.run, chunk.run.match
    notice, _ = Notice.objects.get_or_create(
        key=f"points:{run.pk}",
        defaults={
            "kind": "points",
            "match": match,
            "payload": _base("points", match, run=run.pk),
            "state": Notice.State.SENDING,
            "send_after": timezone.now(),
        },
    )
    mine, _ = NoticeChunk.objects.get_or_create(
        notice=notice,
        user_from=chunk.user_from,
        delay=0,
        defaults={"user_to": chunk.user_to},
    )
    Notice.objects.filter(pk=notice.pk).update(chunks_total=notice.chunks.count())
    return mine


def _devices(match: Match, kind: str, users: list[int]) -> list[Target]:
    params: dict[str, Any] = {"home": match.home_id, "away": match.away_id, "match": match.pk,
                              "bit": KINDS[kind].bit, "users": users}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(FOLLOWERS, params)
        return [Target(*row) for row in cursor.fetchall()]


def _encode(payload: dict[str, object], kind: str, tag: str) -> Message:
    spec = KINDS[kind]
    body = json.dumps({**payload, "ts": int(time.time() * 1000)}, separators=(",", ":"))
    return Message(body.encode(), spec.ttl, spec.urgency, tag)


def _nothing(target: Target) -> Message:
    raise AssertionError("no device is sent a message here")


def points_targets(
    notice: Notice, chunk: NoticeChunk
) -> tuple[list[Target], Callable[[Target], Message]]:
    match = notice.match
    if match.status in VOID_STATUSES:  # nothing was scored: the predictions are void
        return [], _nothing
    run_chunk = SettlementChunk.objects.select_related("run__match").get(
        run_id=notice.payload["run"], user_from=chunk.user_from
    )
    points = {user: (pts, total, rank) for user, pts, total, rank in fans_points(run_chunk)}
    line = scoreline(match, (match.home_score, match.away_score))
    messages: dict[int, Message] = {}
    for user, (pts, total, rank) in points.items():
        title = f"You scored {pts} point{'s' if pts != 1 else ''} on {line}"
        body = f"{total} in all" + (f", rank {rank:,}" if rank else "")
        payload = {**notice.payload, "id": f"n{notice.pk}", "title": title, "body": body,
                   "pts": pts, "tot": total, "rank": rank}  # fmt: skip
        messages[user] = _encode(payload, "points", notice.payload["tag"])
    targets = _devices(match, "points", list(points))
    return targets, lambda target: messages[target.user_id]


# ---- reminders ------------------------------------------------------------------------------

LEADS = f"""
SELECT DISTINCT COALESCE(p.reminder_minutes, 30)
FROM notifications_follow f
LEFT JOIN notifications_preferences p ON p.user_id = f.user_id
WHERE {FOLLOWS_WANTING}
"""


def reminders_due() -> list[int]:
    """Create the reminder notices whose time has come; returns their ids."""
    now = timezone.now()
    soon = Match.objects.filter(
        status=MatchStatus.SCHEDULED, kickoff__gt=now, kickoff__lte=now + dt.timedelta(days=1)
    ).select_related("home", "away")
    created = []
    for match in soon:
        params = {"home": match.home_id, "away": match.away_id, "match": match.pk,
                  "bit": KINDS["reminder"].bit}  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(LEADS, params)
            leads = [row[0] for row in cursor.fetchall()]
        for lead in leads:
            if match.kickoff - dt.timedelta(minutes=lead) > now:
                continue
            minutes = max(1, round((match.kickoff - now).total_seconds() / 60))
            notice, new = Notice.objects.get_or_create(
                key=f"reminder:{match.pk}:{lead}:{match.kickoff.isoformat()}",
                defaults={
                    "kind": "reminder",
                    "match": match,
                    "payload": _base(
                        "reminder",
                        match,
                        lead=lead,
                        title=f"{match.home.code} v {match.away.code} kicks off in {minutes} min",
                        body="Make your prediction before it locks",
                    ),
                    "send_after": now,
                },
            )
            if new:
                created.append(notice.pk)
    return created
