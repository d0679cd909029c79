"""Reads of chat state: rooms and who may read or write them, display names, history pages.
The gateway calls these (in a worker thread) and caches what may lag a little."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from chat.models import Message, Room, RoomModerator, Sanction
from core.caches import TTLCache
from core.users import User
from predictions.models import LeagueMember

PAGE_SIZE = 50


@dataclass(frozen=True)
class RoomInfo:
    id: int
    league_id: int | None  # None: a public (match) room

    @property
    def public(self) -> bool:
        return self.league_id is None


_rooms: TTLCache[int, RoomInfo | None] = TTLCache(seconds=30, max_entries=10_000)
_names: TTLCache[int, str] = TTLCache(seconds=300, max_entries=100_000)


def match_rooms(slugs: list[str]) -> dict[str, int]:
    """The chat room of each match (by slug) that has one."""
    rooms = Room.objects.filter(match__slug__in=slugs).values_list("match__slug", "pk")
    return dict(rooms)


def cached_room(room_id: int) -> tuple[bool, RoomInfo | None]:
    """(found, room) from this process's cache, without the database."""
    return _rooms.get(room_id)


def room_info(room_id: int) -> RoomInfo | None:
    """The room, cached 30 s per process (rooms never change kind; a deleted match's room
    may linger that long for reading, never for writing: the flush drops its messages)."""
    found, info = _rooms.get(room_id)
    if found:
        return info
    row = Room.objects.filter(pk=room_id).values_list("league_id", flat=True)
    league = list(row)
    info = RoomInfo(room_id, league[0]) if league else None
    _rooms.set(room_id, info)
    return info


def is_member(room: RoomInfo, user_id: int | None) -> bool:
    """May this user read and write the room? Public rooms: everyone reads (writing needs a
    user, checked by the caller). League rooms: members only, checked on every call, so a
    removed member loses access at once."""
    if room.league_id is None:
        return True
    if not user_id:
        return False
    return LeagueMember.objects.filter(league_id=room.league_id, user_id=user_id).exists()


def cached_name(user_id: int) -> tuple[bool, str]:
    found, name = _names.get(user_id)
    return (True, name) if found and name is not None else (False, "")


def display_name(user_id: int) -> str:
    found, name = cached_name(user_id)
    if found:
        return name
    user = get_user_model().objects.filter(pk=user_id).values_list("first_name", "username")
    first, username = next(iter(user), ("", f"fan {user_id}"))
    name = (first or username)[:30]
    _names.set(user_id, name)
    return name


def active_ban(room_id: int, user_id: int | None) -> Sanction | None:
    """The ban (in this room or everywhere) that shuts this user out now, from PostgreSQL,
    the truth: a REST read does not depend on chat's hot state surviving in Redis."""
    if not user_id:
        return None
    now = timezone.now()
    return (
        Sanction.objects.filter(user_id=user_id, kind=Sanction.Kind.BAN, lifted_at__isnull=True)
        .filter(Q(room_id=room_id) | Q(room__isnull=True))
        .filter(Q(until__isnull=True) | Q(until__gt=now))
        .order_by("until")
        .first()
    )


def can_moderate(user: User | AnonymousUser, room: Room) -> bool:
    if not user.is_authenticated:
        return False
    if user.has_perm("chat.moderate"):
        return True
    return RoomModerator.objects.filter(room=room, user=user).exists()


def history_page(room: Room, viewer_id: int | None, before: int | None) -> QuerySet[Message]:
    """Messages older than `before`, newest first: what every reader sees, plus the viewer's
    own shadow-muted messages (the author still sees them)."""
    visible = Q(shadow=False) | Q(user_id=viewer_id or -1)
    rows = Message.objects.filter(room=room, hidden=False, deleted_at__isnull=True).filter(visible)
    if before is not None:
        rows = rows.filter(id__lt=before)
    return rows.select_related("user").order_by("-id")[:PAGE_SIZE]


def room_for(*, match_slug: str | None = None, league_id: int | None = None) -> Room | None:
    rooms = Room.objects.all()
    if match_slug is not None:
        return rooms.filter(match__slug=match_slug).first()
    if league_id is None:
        return None
    return rooms.filter(league_id=league_id).first()


def forget_caches() -> None:
    _rooms.clear()
    _names.clear()
