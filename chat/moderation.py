"""Chat moderation: slow mode, deleting and clearing messages, sanctions (mute, shadow-mute,
ban, lifted), and fans' reports with their review. Every moderator action is audited here
(ModerationAction); each takes effect in Redis at once and in PostgreSQL in the same
request."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from chat import frames, live, selectors
from chat.models import Message, ModerationAction, Report, Room, Sanction
from chat.persistence import pending_flush
from chat.services import kick, slow_mode_announce
from core.errors import DomainError
from core.redis import client
from core.users import User

logger = logging.getLogger("livescore.chat")
Action = ModerationAction.Action

CLEAR_WINDOW = dt.timedelta(hours=1)  # "clear a user's recent messages": this far back


def require_moderator(actor: User, room: Room) -> None:
    if not selectors.can_moderate(actor, room):
        raise DomainError("only the room's moderators do that", status=403)


def _audit(action: str, actor: User | None, room: Room | None, **fields: Any) -> ModerationAction:
    return ModerationAction.objects.create(
        action=action, actor=actor, room=room, created_at=timezone.now(), **fields
    )


def slow_mode_set(*, actor: User, room: Room, seconds: int, reason: str = "") -> Room:
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
    slow_mode_announce(room_id)


def message_persisted(message_id: int) -> Message:
    """The message's row, flushing pending messages first if it is not stored yet."""
    message = Message.objects.filter(pk=message_id).select_related("room").first()
    if message is None:
        pending_flush()
        message = Message.objects.filter(pk=message_id).select_related("room").first()
    if message is None:
        raise DomainError("no such message", status=404)
    return message


def message_delete(*, actor: User, message_id: int, reason: str = "") -> Message:
    """A moderator's delete, or the author's own: gone from history and every client."""
    message = message_persisted(message_id)
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
    live.fanout(live.sync_scripts(), room_id, frames.delete_frame(room_id, ids=ids), "del")


def messages_clear(*, actor: User, room: Room, user_id: int, reason: str = "") -> int:
    """Delete the user's messages of the last CLEAR_WINDOW in the room; clients drop every
    message of that author they hold."""
    require_moderator(actor, room)
    pending_flush()
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
    live.fanout(live.sync_scripts(), room_id, frames.delete_frame(room_id, user_id=user_id), "del")


def sanction_create(
    *, actor: User, user_id: int, kind: str, room: Room | None, minutes: int | None, reason: str
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
            kick(room_id, row.user_id, "banned")


def _rooms_with_listeners() -> list[int]:
    keys = client().scan_iter(match="chat:r:*:shards", count=1000)
    return [int(key.decode().split(":")[2]) for key in keys]


def sanction_lift(*, actor: User, sanction_id: int, reason: str = "") -> Sanction:
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


def report_create(*, reporter: User, message_id: int, reason: str = "") -> Report:
    """A fan reports a message; CHAT_REPORTS_TO_HIDE distinct reporters hide it pending
    review (gone from every client until a moderator restores or deletes it)."""
    from django.conf import settings

    message = message_persisted(message_id)
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


def report_review(*, actor: User, message_id: int, uphold: bool, reason: str = "") -> Message:
    """Close a hidden message's reports: uphold (delete it) or dismiss (show it again in
    history; clients that dropped it see it again on their next history load)."""
    message = message_persisted(message_id)
    if uphold:
        return message_delete(actor=actor, message_id=message_id, reason=reason)
    require_moderator(actor, message.room)
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(hidden=False)
        Report.objects.filter(message=message, state=Report.State.OPEN).update(
            state=Report.State.DISMISSED
        )
        _audit(Action.RESTORE, actor, message.room, target_id=message.user_id,
               message_id=message.pk, reason=reason)  # fmt: skip
    return message
