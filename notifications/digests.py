"""The per-fan cap and its digest: at most `cap` pushes per match per PUSH_CAP_WINDOW
seconds; what goes over is merged into one push when the window ends ("3 goals in 2
minutes: ARG 3-2 FRA").

Each fan's window is a sorted set of notice ids in Redis, ranked by arrival: a notice's
rank is fixed the first time a chunk counts it (a retried chunk gets the same rank back).
A notice ranked below the fan's cap is sent; above, the fan joins the window's digest set,
and the window's first overflow schedules the digest, which merges the notices ranked at or
above the cap. Ranking by notice id instead would depend on the order chunks run: a later
goal's chunk running first would take rank 0 and be sent, and the earlier goal would then
take rank 0 too, so both would go out and no digest would follow.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache

import redis as redis_module
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.redis import client
from matches.models import Match
from notifications import effects
from notifications.backends import Message, Target
from notifications.kinds import DIGEST
from notifications.models import Notice, NoticeChunk
from notifications.notices import scoreline, topic


def _cap_key(match_id: int, user_id: int, window: int) -> str:
    return f"push:cap:{match_id}:{user_id}:{window}"


def _digest_key(match_id: int, window: int) -> str:
    return f"push:dig:{match_id}:{window}"


# KEYS: the fan's window. ARGV: notice id, seconds to keep the window. Returns the notice's
# rank by arrival, adding it last if it is new (its score is its rank).
_RANK = """
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then
  rank = redis.call('ZCARD', KEYS[1])
  redis.call('ZADD', KEYS[1], rank, ARGV[1])
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return rank
"""


@cache
def _rank_script() -> redis_module.commands.core.Script:
    return client().register_script(_RANK)


def within_cap(notice: Notice, users: list[tuple[int, int]]) -> set[int]:
    """The users (of (user id, cap) pairs) this notice may reach now; the others join the
    window's digest."""
    if not users:
        return set()
    span = settings.PUSH_CAP_WINDOW
    # The window of the notice's own time, not of the moment a chunk runs: a retried or
    # delayed chunk counts in the window its notice belongs to.
    window = int(notice.send_after.timestamp() // span)
    redis = client()
    pipe = redis.pipeline(transaction=False)
    rank_in = _rank_script()
    for user_id, _ in users:
        key = _cap_key(notice.match_id, user_id, window)
        rank_in(keys=[key], args=[notice.pk, span * 3], client=pipe)
    ranks = pipe.execute()
    allowed = {
        u for (u, cap), rank in zip(users, ranks, strict=True) if rank is not None and rank < cap
    }
    over = [u for u, _ in users if u not in allowed]
    if over:
        key = _digest_key(notice.match_id, window)
        redis.sadd(key, *over)
        redis.expire(key, span * 10)
        if redis.set(f"{key}:queued", "1", nx=True, ex=span * 10):
            countdown = max(0.0, (window + 1) * span - time.time() + 1)
            effects.digest_schedule(notice.match_id, window, countdown)
    return allowed


def digest_notice(match_id: int, window: int) -> tuple[Notice, list[NoticeChunk]]:
    """The window's digest notice and its chunks (created once)."""
    users = sorted(int(u) for u in client().smembers(_digest_key(match_id, window)))
    match = Match.objects.select_related("home", "away").get(pk=match_id)
    notice, created = Notice.objects.get_or_create(
        key=f"digest:{match_id}:{window}",
        defaults={
            "kind": DIGEST.name,
            "match": match,
            "payload": {"v": 1, "kind": DIGEST.name, "match": match.slug, "tag": topic(match),
                        "url": f"/m/{match.slug}", "window": window},
            "state": Notice.State.SENDING,
            "send_after": timezone.now(),
        },
    )  # fmt: skip
    if not created:
        return notice, list(notice.chunks.exclude(state=NoticeChunk.State.DONE))
    size = settings.PUSH_CHUNK_USERS
    chunks = NoticeChunk.objects.bulk_create(
        NoticeChunk(notice=notice, user_from=users[i], user_to=users[min(i + size, len(users)) - 1])
        for i in range(0, len(users), size)
    )
    notice.chunks_total = len(chunks)
    if not chunks:
        notice.state, notice.finished_at = Notice.State.DONE, timezone.now()
    notice.save(update_fields=["chunks_total", "state", "finished_at"])
    return notice, chunks


DEVICES = """
SELECT d.id, d.user_id, d.backend, d.endpoint, d.p256dh, d.auth, d.token, COALESCE(p.cap, 3)
FROM notifications_device d
LEFT JOIN notifications_preferences p ON p.user_id = d.user_id
WHERE d.user_id = ANY(%(users)s)
ORDER BY d.user_id, d.id
"""


def digest_targets(
    notice: Notice, chunk: NoticeChunk
) -> tuple[list[Target], Callable[[Target], Message]]:
    """The devices of the chunk's fans in the digest, and each fan's own digest message."""
    match, window = notice.match, notice.payload["window"]
    redis = client()
    members = [int(u) for u in redis.smembers(_digest_key(match.pk, window))]
    users = [u for u in members if chunk.user_from <= u <= chunk.user_to]
    with connection.cursor() as cursor:
        cursor.execute(DEVICES, {"users": users})
        rows = cursor.fetchall()
    caps = {row[1]: row[7] for row in rows}
    pipe = redis.pipeline(transaction=False)
    for user_id in caps:
        pipe.zrange(_cap_key(match.pk, user_id, window), 0, -1)
    merged = {
        user_id: [int(n) for n in ids[cap:]]
        for (user_id, cap), ids in zip(caps.items(), pipe.execute(), strict=True)
    }
    kinds = dict(
        Notice.objects.filter(pk__in={n for ids in merged.values() for n in ids}).values_list(
            "pk", "kind"
        )
    )
    match.refresh_from_db()
    line = scoreline(match, (match.home_score, match.away_score))
    minutes = max(1, round(settings.PUSH_CAP_WINDOW / 60))
    messages: dict[int, Message] = {}
    for user_id, ids in merged.items():
        what = "goal" if ids and all(kinds.get(n) == "goal" for n in ids) else "update"
        title = f"{len(ids)} {what}{'s' if len(ids) > 1 else ''} in {minutes} min: {line}"
        payload = {
            **notice.payload,
            "id": f"n{notice.pk}",
            "title": title,
            "body": "",
            "s": [match.home_score, match.away_score],
            "ts": int(time.time() * 1000),
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        messages[user_id] = Message(body, DIGEST.ttl, DIGEST.urgency, notice.payload["tag"])
    targets = [Target(*row[:7]) for row in rows if merged.get(row[1])]
    return targets, lambda target: messages[target.user_id]
