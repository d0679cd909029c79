"""Chat services: rooms and posting over REST (the socket's `say` runs the same script in
the gateway, chat/sockets.py). Moderation and reports are chat/moderation.py; persistence
and the rebuild of the hot state, chat/persistence.py."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from chat import filters, frames, live, posting, selectors
from chat.models import ModerationAction, Room
from chat.persistence import hot_state_rebuild
from core.errors import DomainError
from core.metrics import CHAT_POSTS
from core.redis import client
from core.users import User
from matches.models import Match
from predictions.models import League

logger = logging.getLogger("livescore.chat")
Action = ModerationAction.Action


class ChatError(DomainError):
    code = "chat"

    def __init__(self, refused: posting.Refused) -> None:
        super().__init__(refused.message, status=refused.status)
        self.code = refused.code
        self.extra = refused.extra()
        self.retry_after = refused.wait


# ---- rooms --------------------------------------------------------------------------------


def room_for_match(match_id: int) -> Room:
    room, _ = Room.objects.get_or_create(match_id=match_id)
    return room


def room_for_league(league_id: int) -> Room:
    room, _ = Room.objects.get_or_create(league_id=league_id)
    return room


def room_open(*, match_slug: str | None = None, league_id: int | None = None) -> Room | None:
    """The room of a match (by slug) or a league, made on first use; None when there is no
    such match or league. Who may read it is the caller's check."""
    room = selectors.room_for(match_slug=match_slug, league_id=league_id)
    if room is not None:
        return room
    if match_slug is not None:
        match_id = Match.objects.filter(slug=match_slug).values_list("pk", flat=True).first()
        return None if match_id is None else room_for_match(match_id)
    if league_id is not None and League.objects.filter(pk=league_id).exists():
        return room_for_league(league_id)
    return None


def member_remove(*, league_id: int, user_id: int) -> None:
    """A fan left or was removed from a league: their sockets leave its room at once."""
    room = Room.objects.filter(league_id=league_id).first()
    if room is not None:
        transaction.on_commit(lambda: kick(room.pk, user_id, "removed"), robust=True)


def kick(room_id: int, user_id: int, reason: str) -> None:
    """Take a user's sockets off a room now (a ban, or a member who left its league)."""
    live.fanout(
        live.sync_scripts(), room_id, frames.kick_frame(room_id, user_id, reason), "kick", user_id
    )


# ---- posting (REST; the socket's `say` runs the same script in the gateway) -----------------


def message_post(*, user: User, room: Room, text: object, cid: object) -> live.Said:
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
        hot_state_rebuild()
        said = _say(args)
    refused = posting.refusal_of(said)
    if refused is not None:
        _audit_refusal(refused, room.pk, user.pk, {}, prepared.text)
        raise ChatError(refused)
    CHAT_POSTS.labels(said.status).inc()
    if said.auto_slow_on:
        slow_mode_announce(room.pk)
    return said


def _say(args: list[Any]) -> live.Said:
    reply: list[Any] = live.sync_scripts().say(args=args)
    return live.said_from(reply)


def _audit_refusal(
    refused: posting.Refused, room_id: int, user_id: int, detail: dict[str, str], text: object
) -> None:
    record = posting.refused_record(
        refused, room_id=room_id, user_id=user_id, detail=detail, text=text
    )
    if record is not None:
        client().rpush(live.AUDIT_KEY, record)


def slow_mode_announce(room_id: int) -> None:
    live.announce_slow_mode(live.sync_scripts(), room_id)
