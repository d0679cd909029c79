"""Reactions over REST, for clients without a socket (docs/social.md)."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.users import signed_in
from matches.models import Match
from social import reactions
from social.serializers import MomentSerializer, ReactionWriteSerializer


def _match(slug: str) -> Match:
    return get_object_or_404(Match, slug=slug)


def _moment(moment: reactions.Moment) -> dict[str, Any]:
    return dict(MomentSerializer(moment).data)


class MatchReactionsView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=MomentSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        """Every moment of the match with its reactions by kind, and yours when signed in."""
        user_id = request.user.pk if request.user.is_authenticated else None
        return Response([_moment(m) for m in reactions.moments(_match(slug), user_id)])


class MomentReactionView(APIView):
    # Rate-limited per fan by the reaction script itself (THROTTLE_REACTIONS), the same
    # budget over REST and the socket: no DRF throttle on top.
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=ReactionWriteSerializer,
        responses={
            200: MomentSerializer,
            400: OpenApiResponse(description="not a moment fans react to, or an unknown kind"),
            403: OpenApiResponse(description="banned from the match's chat room"),
            404: OpenApiResponse(description="no such match or moment"),
            429: OpenApiResponse(description="over THROTTLE_REACTIONS, with Retry-After"),
        },
    )
    def put(self, request: Request, slug: str, seq: int) -> Response:
        """React to a moment (one reaction per fan and moment: this one replaces yours)."""
        body = ReactionWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        moment = reactions.reaction_set(
            user_id=signed_in(request).pk,
            match=_match(slug),
            seq=seq,
            kind=body.validated_data["kind"],
        )
        return Response(_moment(moment))

    @extend_schema(responses={200: MomentSerializer})
    def delete(self, request: Request, slug: str, seq: int) -> Response:
        """Take your reaction back."""
        moment = reactions.reaction_set(
            user_id=signed_in(request).pk, match=_match(slug), seq=seq, kind=""
        )
        return Response(_moment(moment))
