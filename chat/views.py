"""Chat over REST: rooms, history pages, posting (the same rules as the socket's `say`),
reports and moderation. Thin: the rules live in chat/services.py, chat/moderation.py and
chat/persistence.py."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from chat import moderation, persistence, posting, selectors, services
from chat.models import Room, Sanction
from chat.serializers import (
    ClearSerializer,
    MessageSerializer,
    PostedSerializer,
    PostSerializer,
    ReasonSerializer,
    ReviewSerializer,
    RoomSerializer,
    SanctionRequestSerializer,
    SanctionSerializer,
    SlowModeSerializer,
)
from core.users import signed_in

Auth = permissions.IsAuthenticated


def _readable_room(request: Request, room_id: int) -> Room:
    """The room if this user may read it: a member (any fan, for a match room) who is not
    banned, or one of the room's moderators (they moderate every room, league rooms
    included: docs/operations.md). 404 for outsiders (a league room's existence is not
    revealed), 403 `banned` for a banned fan (docs/chat.md: a ban cannot read or post)."""
    room = get_object_or_404(Room.objects.select_related("match"), pk=room_id)
    if selectors.can_moderate(request.user, room):
        return room
    info = selectors.room_info(room.pk)
    if info is None or not selectors.is_member(info, request.user.pk):
        raise NotFound("no such room")
    ban = selectors.active_ban(room.pk, request.user.pk)
    if ban is not None:
        until = int(ban.until.timestamp() * 1000) if ban.until else 0
        raise services.ChatError(posting.banned(until))
    return room


def _valid(serializer: type[Serializer], request: Request) -> dict[str, Any]:
    """The request body, validated (a 400 naming the fields at fault otherwise)."""
    body = serializer(data=request.data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


def _only(request: Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed - {"format"})
    if unknown:
        raise ValidationError(
            {name: f"unknown parameter; allowed: {sorted(allowed)}" for name in unknown}
        )


def _integer(request: Request, name: str, reason: str) -> int | None:
    """A query parameter that must be a whole number (ASCII digits: "²" and "٣" pass
    str.isdigit() and fail int()), by the same field the serializers use; None if absent."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    field = serializers.IntegerField(min_value=0, max_value=2**63 - 1)
    try:
        if not raw.isascii():
            raise serializers.ValidationError(reason)
        return int(field.run_validation(raw))
    except serializers.ValidationError:
        raise ValidationError({name: reason}) from None


class RoomLookupView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        operation_id="v1_chat_rooms_lookup",
        parameters=[
            OpenApiParameter("match", str, description="a match slug"),
            OpenApiParameter("league", int, description="a league id (members only)"),
        ],
        responses={200: RoomSerializer, 404: OpenApiResponse(description="no such room")},
    )
    def get(self, request: Request) -> Response:
        """The chat room of a match or of one of your leagues (exactly one parameter)."""
        _only(request, {"match", "league"})
        slug, league = request.query_params.get("match"), request.query_params.get("league")
        if (slug is None) == (league is None):
            raise ValidationError({"detail": "give exactly one of match, league"})
        league_id = _integer(request, "league", "must be a league id")
        room = services.room_open(match_slug=slug, league_id=league_id)
        if room is None:
            raise NotFound("no such room")
        return Response(RoomSerializer(_readable_room(request, room.pk)).data)


class RoomView(APIView):
    def get_permissions(self) -> list[Any]:
        return [Auth()] if self.request.method == "PATCH" else [permissions.AllowAny()]

    @extend_schema(responses={200: RoomSerializer})
    def get(self, request: Request, room_id: int) -> Response:
        """A room: its channel and slow mode."""
        return Response(RoomSerializer(_readable_room(request, room_id)).data)

    @extend_schema(request=SlowModeSerializer, responses={200: RoomSerializer})
    def patch(self, request: Request, room_id: int) -> Response:
        """Set the room's slow mode (moderators): one message per N seconds per fan, 0 off."""
        room = _readable_room(request, room_id)
        data = _valid(SlowModeSerializer, request)
        room = moderation.slow_mode_set(
            actor=signed_in(request), room=room, seconds=data["slow_seconds"],
            reason=data["reason"],
        )  # fmt: skip
        return Response(RoomSerializer(room).data)


class MessagesView(APIView):
    def get_permissions(self) -> list[Any]:
        return [Auth()] if self.request.method == "POST" else [permissions.AllowAny()]

    @extend_schema(
        parameters=[OpenApiParameter("before", int, description="a message id: older ones")],
        responses={200: MessageSerializer(many=True)},
    )
    def get(self, request: Request, room_id: int) -> Response:
        """History, newest first, 50 per page; page on with `before` = the last id you got."""
        _only(request, {"before"})
        before = _integer(request, "before", "must be a message id")
        room = _readable_room(request, room_id)
        persistence.pending_flush()  # the newest page includes what was just said
        page = selectors.history_page(room, request.user.pk, before)
        return Response(MessageSerializer(page, many=True).data)

    @extend_schema(
        request=PostSerializer,
        responses={
            201: PostedSerializer,
            200: OpenApiResponse(PostedSerializer, description="a repeated cid: not posted again"),
        },
    )
    def post(self, request: Request, room_id: int) -> Response:
        """Post a message: the socket's `say` over REST, with the same rules and codes."""
        room = _readable_room(request, room_id)
        data = _valid(PostSerializer, request)
        said = services.message_post(user=signed_in(request), room=room, **data)
        again = said.status == "again"
        posted = {"id": said.id, "ts": said.ts, "cid": data["cid"], "again": again}
        return Response(posted, status=status.HTTP_200_OK if again else status.HTTP_201_CREATED)


class MessageView(APIView):
    permission_classes = [Auth]

    @extend_schema(request=ReasonSerializer, responses={204: None})
    def delete(self, request: Request, message_id: int) -> Response:
        """Delete a message (its author, or a moderator): gone from history and every client."""
        data = _valid(ReasonSerializer, request)
        moderation.message_delete(
            actor=signed_in(request), message_id=message_id, reason=data["reason"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReportView(APIView):
    permission_classes = [Auth]

    @extend_schema(request=ReasonSerializer, responses={202: None})
    def post(self, request: Request, message_id: int) -> Response:
        """Report a message. Enough distinct reports hide it pending review (docs/chat.md)."""
        data = _valid(ReasonSerializer, request)
        moderation.report_create(
            reporter=signed_in(request), message_id=message_id, reason=data["reason"]
        )
        return Response(status=status.HTTP_202_ACCEPTED)


class ReviewView(APIView):
    permission_classes = [Auth]

    @extend_schema(request=ReviewSerializer, responses={204: None})
    def post(self, request: Request, message_id: int) -> Response:
        """Close a reported message's reports (moderators): delete it, or restore it."""
        data = _valid(ReviewSerializer, request)
        moderation.report_review(actor=signed_in(request), message_id=message_id, **data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClearView(APIView):
    permission_classes = [Auth]

    @extend_schema(request=ClearSerializer, responses={200: None})
    def post(self, request: Request, room_id: int) -> Response:
        """Delete a fan's messages of the last hour in the room (moderators)."""
        room = _readable_room(request, room_id)
        data = _valid(ClearSerializer, request)
        cleared = moderation.messages_clear(
            actor=signed_in(request), room=room, user_id=data["user"],
            reason=data["reason"],
        )  # fmt: skip
        return Response({"cleared": cleared})


class SanctionsView(APIView):
    permission_classes = [Auth]

    @extend_schema(responses={200: SanctionSerializer(many=True)})
    def get(self, request: Request, room_id: int) -> Response:
        """The room's active sanctions (moderators)."""
        room = _readable_room(request, room_id)
        moderation.require_moderator(signed_in(request), room)
        rows = Sanction.objects.filter(room=room, lifted_at__isnull=True).order_by("-id")[:200]
        return Response(SanctionSerializer(rows, many=True).data)

    @extend_schema(request=SanctionRequestSerializer, responses={201: SanctionSerializer})
    def post(self, request: Request, room_id: int) -> Response:
        """Mute, ban or shadow-mute a fan in this room (moderators), for minutes or until
        lifted."""
        room = _readable_room(request, room_id)
        data = _valid(SanctionRequestSerializer, request)
        row = moderation.sanction_create(
            actor=signed_in(request), user_id=data["user"], kind=data["kind"], room=room,
            minutes=data.get("minutes"), reason=data["reason"],
        )  # fmt: skip
        return Response(SanctionSerializer(row).data, status=status.HTTP_201_CREATED)


class SanctionView(APIView):
    permission_classes = [Auth]

    @extend_schema(request=ReasonSerializer, responses={204: None})
    def delete(self, request: Request, sanction_id: int) -> Response:
        """Lift a sanction (moderators)."""
        data = _valid(ReasonSerializer, request)
        moderation.sanction_lift(actor=signed_in(request), sanction_id=sanction_id, **data)
        return Response(status=status.HTTP_204_NO_CONTENT)
