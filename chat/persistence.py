"""Chat's two jobs that keep Redis and PostgreSQL in step: moving accepted messages (and
filter refusals) into PostgreSQL in batches, and rebuilding the hot state after Redis lost
it."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from chat import live, selectors
from chat.models import Message, ModerationAction, Room, Sanction
from core.redis import client

logger = logging.getLogger("livescore.chat")
Action = ModerationAction.Action

FLUSH_BATCH = 2000
FLUSH_LOCK_KEY = "chat:flush:lock"
REBUILD_LOCK_KEY = "chat:rebuilding"
REBUILD_CIDS_WINDOW = dt.timedelta(minutes=10)  # retries after a Redis loss are caught this long


def pending_flush(limit_batches: int = 50) -> int:
    """Move accepted messages and filter refusals from Redis into PostgreSQL, in batches.

    Read, insert (ON CONFLICT DO NOTHING), commit, and only then trim: a worker killed
    between the commit and the trim leaves rows the next run inserts again as no-ops. One
    flusher at a time (a lock), so batches never interleave."""
    redis = client()
    if not redis.set(FLUSH_LOCK_KEY, 1, nx=True, ex=60):
        return 0
    try:
        moved = 0
        for _ in range(limit_batches):
            done = _flush_batch(live.PENDING_KEY, _store_messages)
            done += _flush_batch(live.AUDIT_KEY, _store_audit)
            moved += done
            if done == 0:
                break
        return moved
    finally:
        redis.delete(FLUSH_LOCK_KEY)


def _flush_batch(key: str, store: Any) -> int:
    redis = client()
    raw = redis.lrange(key, 0, FLUSH_BATCH - 1)
    if not raw:
        return 0
    store([json.loads(item) for item in raw])
    redis.ltrim(key, len(raw), -1)
    return len(raw)


def _store_messages(records: list[dict[str, Any]]) -> None:
    rooms = set(Room.objects.filter(pk__in={r["r"] for r in records}).values_list("pk", flat=True))
    users = _existing_users(r["m"]["u"] for r in records)
    rows = [
        Message(
            id=r["m"]["id"],
            room_id=r["r"],
            user_id=r["m"]["u"],
            text=r["m"]["x"],
            cid=r["c"],
            created_at=dt.datetime.fromtimestamp(r["m"]["ts"] / 1000, tz=dt.UTC),
            shadow=bool(r["sh"]),
        )
        for r in records
        if r["r"] in rooms and r["m"]["u"] in users  # a room or fan deleted meanwhile
    ]
    with transaction.atomic():
        Message.objects.bulk_create(rows, ignore_conflicts=True)


def _store_audit(records: list[dict[str, Any]]) -> None:
    rooms = set(Room.objects.filter(pk__in={r["r"] for r in records}).values_list("pk", flat=True))
    users = _existing_users(r["u"] for r in records)
    rows = [
        ModerationAction(
            action=r["a"],
            room_id=r["r"] if r["r"] in rooms else None,
            target_id=r["u"] if r["u"] in users else None,
            detail=r["d"],
            created_at=dt.datetime.fromtimestamp(r["ts"] / 1000, tz=dt.UTC),
        )
        for r in records
    ]
    ModerationAction.objects.bulk_create(rows)


def _existing_users(ids: Iterable[int]) -> set[int]:
    return set(get_user_model().objects.filter(pk__in=set(ids)).values_list("pk", flat=True))


def rooms_calm() -> list[int]:
    """Rooms whose automatic slow mode ran out (the flood calmed): tell their clients."""
    redis = client()
    calmed = [
        int(room)
        for room in redis.smembers(live.AUTOSLOW_ROOMS_KEY)
        if not redis.exists(live.auto_key(int(room)))
    ]
    for room_id in calmed:
        redis.srem(live.AUTOSLOW_ROOMS_KEY, room_id)
        live.announce_slow_mode(live.sync_scripts(), room_id)
    return calmed


def hot_state_rebuild() -> bool:
    """Rebuild chat's hot state after Redis lost it: active sanctions, operator slow modes,
    each room's recent messages, the client message ids of the last REBUILD_CIDS_WINDOW
    (a fan retrying a post then is acknowledged, not posted twice). Returns False when
    another process is rebuilding (its callers answer `unavailable`, retried shortly)."""
    redis = client()
    if redis.exists(live.BUILT_KEY):
        return True
    if not redis.set(REBUILD_LOCK_KEY, 1, nx=True, ex=60):
        return _wait_for_rebuild(redis)
    try:
        pipe = redis.pipeline(transaction=False)
        _rebuild_sanctions(pipe)
        for room_id, seconds in Room.objects.filter(slow_seconds__gt=0).values_list(
            "pk", "slow_seconds"
        ):
            pipe.set(live.slow_key(room_id), seconds)
        _rebuild_recent(pipe)
        pipe.set(live.BUILT_KEY, 1)
        pipe.execute()
        logger.info("chat state rebuilt from PostgreSQL")
        return True
    finally:
        redis.delete(REBUILD_LOCK_KEY)


def _wait_for_rebuild(redis: Any, seconds: float = 3.0) -> bool:
    """Another process is rebuilding: wait a little for it (a post arriving during the
    rebuild then succeeds instead of being told to retry)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if redis.exists(live.BUILT_KEY):
            return True
        time.sleep(0.05)
    return False


def _rebuild_sanctions(pipe: Any) -> None:
    now = timezone.now()
    active = Sanction.objects.filter(lifted_at__isnull=True).exclude(until__lte=now)
    for row in active.order_by("created_at"):
        key = live.sanction_key(row.room_id, row.user_id)
        until_ms = int(row.until.timestamp() * 1000) if row.until else 0
        pipe.set(key, f"{row.kind}:{until_ms}")
        if until_ms:
            pipe.pexpireat(key, until_ms)


def _rebuild_recent(pipe: Any) -> None:
    since = timezone.now() - REBUILD_CIDS_WINDOW
    recent = Message.objects.filter(created_at__gte=since).values_list("user_id", "cid", "id")
    for user_id, cid, message_id in recent:
        ts = message_id // 1024
        pipe.set(f"chat:cid:{user_id}:{cid}", f"{message_id}:{ts}", ex=live.CID_TTL_SECONDS)
    day = timezone.now() - dt.timedelta(days=1)
    rooms = Message.objects.filter(created_at__gte=day).values_list("room_id", flat=True).distinct()
    for room_id in rooms:
        items = {item_text(m): m.pk for m in selectors.history_page(Room(pk=room_id), None, None)}
        pipe.delete(live.recent_key(room_id))
        if items:
            pipe.zadd(live.recent_key(room_id), items)


def item_text(message: Message) -> str:
    """A message as frames carry it: id, author id and name, text, time (ms)."""
    item = {
        "id": message.pk,
        "u": message.user_id,
        "n": selectors.display_name(message.user_id),
        "x": message.text,
        "ts": int(message.created_at.timestamp() * 1000),
    }
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)
