"""Push notifications over REST: your follows, preferences and devices. Each object is
its owner's: another fan's id answers 404, never 403 (ids are not confirmed to exist)."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.users import signed_in
from notifications import services
from notifications.kinds import KINDS, bits_of
from notifications.models import Device, Follow
from notifications.serializers import (
    DeviceRequestSerializer,
    DeviceSerializer,
    FollowKindsSerializer,
    FollowSerializer,
    PreferencesSerializer,
    PushConfigSerializer,
)

Auth = permissions.IsAuthenticated


class PushConfigView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=PushConfigSerializer)
    def get(self, request: Request) -> Response:
        """What a client needs to subscribe: the VAPID public key and the kinds."""
        return Response({
            "vapid_public_key": settings.VAPID_PUBLIC_KEY,
            "kinds": {k.name: k.label for k in KINDS.values()},
            "hold_seconds": settings.PUSH_HOLD_SECONDS,
        })  # fmt: skip


class FollowListView(APIView):
    permission_classes = [Auth]

    @extend_schema(responses=FollowSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Your follows."""
        follows = Follow.objects.filter(user=signed_in(request))
        follows = follows.select_related("team", "match__home", "match__away")
        return Response(FollowSerializer(follows.order_by("id"), many=True).data)

    @extend_schema(
        request=FollowSerializer, responses={200: FollowSerializer, 201: FollowSerializer}
    )
    def post(self, request: Request) -> Response:
        """Follow a team (`{"team":"ARG"}`) or a match (`{"match":"<slug>"}`), optionally with
        `kinds`; following again changes the kinds (200)."""
        body = FollowSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        follow, created = services.follow_set(
            user=signed_in(request),
            team=data.get("team"),
            match=data.get("match"),
            kinds=data.get("kinds"),
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(FollowSerializer(follow).data, status=code)


class FollowView(APIView):
    permission_classes = [Auth]

    @extend_schema(
        request=FollowKindsSerializer,
        responses={200: FollowSerializer, 404: OpenApiResponse(description="not yours")},
    )
    def patch(self, request: Request, follow_id: int) -> Response:
        """Change the kinds of one of your follows."""
        follow = get_object_or_404(Follow, pk=follow_id, user=signed_in(request))
        body = FollowKindsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        follow.kinds = bits_of(body.validated_data["kinds"])
        follow.save(update_fields=["kinds"])
        return Response(FollowSerializer(follow).data)

    @extend_schema(responses={204: None, 404: OpenApiResponse(description="not yours")})
    def delete(self, request: Request, follow_id: int) -> Response:
        """Unfollow."""
        get_object_or_404(Follow, pk=follow_id, user=signed_in(request)).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class PreferencesView(APIView):
    permission_classes = [Auth]

    @extend_schema(responses=PreferencesSerializer)
    def get(self, request: Request) -> Response:
        """Your delivery preferences (defaults until you change them)."""
        return Response(PreferencesSerializer(services.preferences_of(signed_in(request))).data)

    @extend_schema(request=PreferencesSerializer, responses=PreferencesSerializer)
    def patch(self, request: Request) -> Response:
        """Change some of your preferences: time zone, quiet hours, spoiler delay, cap."""
        current = services.preferences_of(signed_in(request))
        body = PreferencesSerializer(current, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        prefs = services.preferences_set(user=signed_in(request), **body.validated_data)
        return Response(PreferencesSerializer(prefs).data)


class DeviceListView(APIView):
    permission_classes = [Auth]

    @extend_schema(responses=DeviceSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Your registered devices."""
        return Response(
            DeviceSerializer(
                Device.objects.filter(user=signed_in(request)).order_by("id"), many=True
            ).data
        )

    @extend_schema(
        request=DeviceRequestSerializer, responses={200: DeviceSerializer, 201: DeviceSerializer}
    )
    def post(self, request: Request) -> Response:
        """Register this device: a browser's Web Push subscription or an HTTP-API token.
        Registering the same `device_id` again replaces its subscription (200)."""
        body = DeviceRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            device, created = services.device_register(
                user=signed_in(request),
                device_id=body.validated_data["device_id"],
                limit=settings.PUSH_DEVICES_PER_USER,
                **body.device_fields(),
            )
        except services.DeviceLimitReached as full:
            raise ValidationError({"device_id": str(full)}) from None
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(DeviceSerializer(device).data, status=code)


class DeviceView(APIView):
    permission_classes = [Auth]

    @extend_schema(responses={204: None, 404: OpenApiResponse(description="not yours")})
    def delete(self, request: Request, device_id: str) -> Response:
        """Stop pushes to one of your devices."""
        get_object_or_404(Device, user=signed_in(request), device_id=device_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
