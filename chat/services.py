"""Chat services: rooms, posting over REST, moderation, reports, and the two jobs that keep
Redis and PostgreSQL in step (persisting accepted messages in batches, rebuilding the hot
state after Redis lost it). Every moderator action is audited here."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from chat import filters, frames, live, posting, selectors
from chat.models import Message, ModerationAction, Report, Room, Sanction
from core.errors import DomainError
from core.metrics import CHAT_POSTS
from core.redis import client

logger = logging.getLogger("livescore.chat")
Action = ModerationAction.Action

FLUSH_BATCH = 2000
FLUSH_LOCK_KEY = "chat:flush:lock"
REBUILD_LOCK_KEY = "chat:rebuilding"
CLEAR_WINDOW = dt.timedelta(hours=1)  # "clear a user's recent messages": this far back
REBUILD_CIDS_WINDOW = dt.timedelta(minutes=10)  # retries after a Redis loss are caught this long


class ChatError(DomainError):
    code = "chat"

    def __init__(self, refused: posting.Refused) -> None:
        super().__init__(refused.message, status=refused.status)
        self.code = refused.code
        self.extra = refused.extra()
        self.retry_after = refused.wait


_scripts: live.Scripts | None = None


def scripts() -> live.Scripts:
    global _scripts
    if _scripts is None:
        _scripts = live.Scripts(client())
    return _scripts


# ---- rooms --------------------------------------------------------------------------------


def room_for_match(match_id: int) -> Room:
    room, _ = Room.objects.get_or_create(match_id=match_id)
    return room


def room_for_league(league_id: int) -> Room:
    room, _ = Room.objects.get_or_create(league_id=league_id)
    return room


def member_removed(*, league_id: int, user_id: int) -> None:
    """A fan left or was removed from a league: their sockets leave its room at once."""
    room = Room.objects.filter(league_id=league_id).first()
    if room is not None:
        transaction.on_commit(lambda: _kick(room.pk, user_id, "removed"), robust=True)


def _kick(room_id: int, user_id: int, reason: str) -> None:
    live.fanout(scripts(), room_id, frames.kick_frame(room_id, user_id, reason), "kick", user_id)


# ---- posting (REST; the socket's `say` runs the same script in the gateway) -----------------


def post_message(*, user: Any, room: Room, text: object, cid: object) -> live.Said:
    """Post as `user`; raises ChatError (4xx with the reason) when a rule refuses it."""
    info = selectors.room_info(room.pk)
    if info is None or not selectors.is_member(info, user.pk):
        raise ChatError(posting.Refused("not_member", "only the league's members chat here", 403))
    refused = posting.check_cid(cid)
    prepared = posting.prepare(text, filters.current()) if refused is None else None
    if isinstance(prepared, tuple):
        refused, detail = prepared
        _audit_refusal(refused, room.pk, user.pk, detail, text)
    if refused is not None:
        raise ChatError(refused)
    assert isinstance(prepared, posting.Prepared) and isinstance(cid, str)
    args = live.say_args(
        room_id=room.pk,
        user_id=user.pk,
        cid=cid,
        text=prepared.text,
        text_hash=prepared.text_hash,
        name=selectors.display_name(user.pk),
        shard=-1,
    )
    said = _say(args)
    if said.status == "rebuild":
        rebuild()
        said = _say(args)
    refused = posting.refusal_of(said)
    if refused is not None:
        _audit_refusal(refused, room.pk, user.pk, {}, prepared.text)
        raise ChatError(refused)
    CHAT_POSTS.labels(said.status).inc()
    if said.auto_slow_on:
        announce_slow_mode(room.pk)
    return said


def _say(args: list[Any]) -> live.Said:
    reply: list[Any] = scripts().say(args=args)
    return live.said_from(reply)


def _audit_refusal(
    refused: posting.Refused, room_id: int, user_id: int, detail: dict[str, str], text: object
) -> None:
    record = posting.refused_record(
        refused, room_id=room_id, user_id=user_id, detail=detail, text=text
    )
    if record is not None:
        client().rpush(live.AUDIT_KEY, record)


def announce_slow_mode(room_id: int) -> None:
    live.announce_slow_mode(scripts(), room_id)


# ---- moderation -----------------------------------------------------------------------------


def require_moderator(actor: Any, room: Room) -> None:
    if not selectors.can_moderate(actor, room):
        raise DomainError("only the room's moderators do that", status=403)


def _audit(action: str, actor: Any, room: Room | None, **fields: Any) -> ModerationAction:
    return ModerationAction.objects.create(
        action=action, actor=actor, room=room, created_at=timezone.now(), **fields
    )


def set_slow_mode(*, actor: Any, room: Room, seconds: int, reason: str = "") -> Room:
    require_moderator(actor, room)
    if not 0 <= seconds <= 3600:
        raise DomainError("slow mode is 0 (off) to 3600 seconds")
    with transaction.atomic():
        room = Room.objects.select_for_update().get(pk=room.pk)
        room.slow_seconds = seconds
        room.save(update_fields=["slow_seconds"])
        _audit(Action.SLOW_MODE, actor, room, reason=reason, detail={"seconds": seconds})
        transaction.on_commit(lambda: _apply_slow_mode(room.pk, seconds))
    return room


def _apply_slow_mode(room_id: int, seconds: int) -> None:
    if seconds:
        client().set(live.slow_key(room_id), seconds)
    else:
        client().delete(live.slow_key(room_id))
    announce_slow_mode(room_id)


def persisted(message_id: int) -> Message:
    """The message's row, flushing pending messages first if it is not stored yet."""
    message = Message.objects.filter(pk=message_id).select_related("room").first()
    if message is None:
        flush_pending()
        message = Message.objects.filter(pk=message_id).select_related("room").first()
    if message is None:
        raise DomainError("no such message", status=404)
    return message


def delete_message(*, actor: Any, message_id: int, reason: str = "") -> Message:
    """A moderator's delete, or the author's own: gone from history and every client."""
    message = persisted(message_id)
    if message.user_id != actor.pk:
        require_moderator(actor, message.room)
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(deleted_at=timezone.now())
        Report.objects.filter(message=message, state=Report.State.OPEN).update(
            state=Report.State.UPHELD
        )
        _audit(Action.DELETE, actor, message.room, target_id=message.user_id,
               message_id=message.pk, reason=reason)  # fmt: skip
        transaction.on_commit(lambda: _withdraw(message.room_id, [message.pk]))
    return message


def _withdraw(room_id: int, ids: list[int]) -> None:
    pipe = client().pipeline(transaction=False)
    for message_id in ids:
        pipe.zremrangebyscore(live.recent_key(room_id), message_id, message_id)
    pipe.execute()
    live.fanout(scripts(), room_id, frames.delete_frame(room_id, ids=ids), "del")


def clear_user(*, actor: Any, room: Room, user_id: int, reason: str = "") -> int:
    """Delete the user's messages of the last CLEAR_WINDOW in the room; clients drop every
    message of that author they hold."""
    require_moderator(actor, room)
    flush_pending()
    since = timezone.now() - CLEAR_WINDOW
    with transaction.atomic():
        cleared = Message.objects.filter(
            room=room, user_id=user_id, created_at__gte=since, deleted_at__isnull=True
        ).update(deleted_at=timezone.now())
        _audit(Action.CLEAR, actor, room, target_id=user_id, reason=reason,
               detail={"messages": cleared})  # fmt: skip
        transaction.on_commit(lambda: _clear_live(room.pk, user_id))
    return cleared


def _clear_live(room_id: int, user_id: int) -> None:
    redis = client()
    recent: list[bytes] = redis.zrange(live.recent_key(room_id), 0, -1)  # type: ignore[assignment]
    doomed = [member for member in recent if json.loads(member)["u"] == user_id]
    if doomed:
        redis.zrem(live.recent_key(room_id), *doomed)
    redis.delete(live.shadow_key(room_id, user_id))
    live.fanout(scripts(), room_id, frames.delete_frame(room_id, user_id=user_id), "del")


def sanction(
    *, actor: Any, user_id: int, kind: str, room: Room | None, minutes: int | None, reason: str
) -> Sanction:
    """Mute, ban or shadow-mute a fan in one room (or everywhere: room None, which needs the
    global moderator permission), for `minutes` or until lifted (None)."""
    if room is None:
        if not actor.has_perm("chat.moderate"):
            raise DomainError("only global moderators sanction everywhere", status=403)
    else:
        require_moderator(actor, room)
    if kind not in Sanction.Kind.values:
        raise DomainError(f"kind must be one of {', '.join(Sanction.Kind.values)}")
    if minutes is not None and not 1 <= minutes <= 60 * 24 * 365:
        raise DomainError("minutes must be 1 to 525600, or left out for until lifted")
    if not get_user_model().objects.filter(pk=user_id).exists():
        raise DomainError("no such user", status=404)
    until = timezone.now() + dt.timedelta(minutes=minutes) if minutes else None
    with transaction.atomic():
        # One active sanction per user and scope: a new one replaces the old.
        Sanction.objects.filter(user_id=user_id, room=room, lifted_at__isnull=True).update(
            lifted_at=timezone.now()
        )
        row = Sanction.objects.create(
            user_id=user_id, room=room, kind=kind, until=until, reason=reason, by=actor
        )
        _audit(kind, actor, room, target_id=user_id, reason=reason,
               detail={"minutes": minutes, "everywhere": room is None})  # fmt: skip
        transaction.on_commit(lambda: _apply_sanction(row))
    return row


def _apply_sanction(row: Sanction) -> None:
    key = live.sanction_key(row.room_id, row.user_id)
    until_ms = int(row.until.timestamp() * 1000) if row.until else 0
    redis = client()
    redis.set(key, f"{row.kind}:{until_ms}")
    if until_ms:
        redis.pexpireat(key, until_ms)
    if row.kind == Sanction.Kind.BAN:
        rooms = [row.room_id] if row.room_id else _rooms_with_listeners()
        for room_id in rooms:
            _kick(room_id, row.user_id, "banned")


def _rooms_with_listeners() -> list[int]:
    keys = client().scan_iter(match="chat:r:*:shards", count=1000)
    return [int(key.decode().split(":")[2]) for key in keys]


def lift(*, actor: Any, sanction_id: int, reason: str = "") -> Sanction:
    row = Sanction.objects.select_related("room").filter(pk=sanction_id).first()
    if row is None:
        raise DomainError("no such sanction", status=404)
    if row.room is None:
        if not actor.has_perm("chat.moderate"):
            raise DomainError("only global moderators lift that", status=403)
    else:
        require_moderator(actor, row.room)
    with transaction.atomic():
        Sanction.objects.filter(pk=row.pk, lifted_at__isnull=True).update(lifted_at=timezone.now())
        _audit(Action.LIFT, actor, row.room, target_id=row.user_id, reason=reason,
               detail={"sanction": row.pk, "kind": row.kind})  # fmt: skip
        transaction.on_commit(lambda: client().delete(live.sanction_key(row.room_id, row.user_id)))
    return row


# ---- reports --------------------------------------------------------------------------------


def report(*, reporter: Any, message_id: int, reason: str = "") -> Report:
    """A fan reports a message; CHAT_REPORTS_TO_HIDE distinct reporters hide it pending
    review (gone from every client until a moderator restores or deletes it)."""
    from django.conf import settings

    message = persisted(message_id)
    info = selectors.room_info(message.room_id)
    if info is None or not selectors.is_member(info, reporter.pk):
        raise DomainError("no such message", status=404)
    if message.user_id == reporter.pk:
        raise DomainError("you cannot report your own message")
    with transaction.atomic():
        row, _ = Report.objects.get_or_create(
            message=message, reporter=reporter, defaults={"reason": reason[:200]}
        )
        reporters = Report.objects.filter(message=message, state=Report.State.OPEN).aggregate(
            n=Count("reporter", distinct=True)
        )["n"]
        hide = (
            reporters >= settings.CHAT_REPORTS_TO_HIDE
            and Message.objects.filter(pk=message.pk, hidden=False).update(hidden=True) == 1
        )
        if hide:
            _audit(Action.HIDE, None, message.room, target_id=message.user_id,
                   message_id=message.pk, detail={"reports": reporters})  # fmt: skip
            transaction.on_commit(lambda: _withdraw(message.room_id, [message.pk]))
    return row


def review(*, actor: Any, message_id: int, uphold: bool, reason: str = "") -> Message:
    """Close a hidden message's reports: uphold (delete it) or dismiss (show it again in
    history; clients that dropped it see it again on their next history load)."""
    message = persisted(message_id)
    if uphold:
        return delete_message(actor=actor, message_id=message_id, reason=reason)
    require_moderator(actor, message.room)
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(hidden=False)
        Report.objects.filter(message=message, state=Report.State.OPEN).update(
            state=Report.State.DISMISSED
        )
        _audit(Action.RESTORE, actor, message.room, target_id=message.user_id,
               message_id=message.pk, reason=reason)  # fmt: skip
    return message


# ---- persistence and rebuild ----------------------------------------------------------------


def flush_pending(limit_batches: int = 50) -> int:
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


def calm_rooms() -> list[int]:
    """Rooms whose automatic slow mode ran out (the flood calmed): tell their clients."""
    redis = client()
    calmed = [
        int(room)
        for room in redis.smembers(live.AUTOSLOW_ROOMS_KEY)
        if not redis.exists(live.auto_key(int(room)))
    ]
    for room_id in calmed:
        redis.srem(live.AUTOSLOW_ROOMS_KEY, room_id)
        announce_slow_mode(room_id)
    return calmed


def rebuild() -> bool:
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
