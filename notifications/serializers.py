from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from matches.models import Match, Team
from notifications import endpoints
from notifications.kinds import KINDS, names_of
from notifications.models import Device, Follow, Preferences

KIND_CHOICES = list(KINDS)


class KindsField(serializers.ListField):
    """Kinds by name on the wire; a bit mask in the database (notifications/kinds.py)."""

    child = serializers.ChoiceField(choices=KIND_CHOICES)

    def to_representation(self, data: Any) -> list[str]:
        return names_of(data) if isinstance(data, int) else list(data)


class FollowSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(
        slug_field="code", queryset=Team.objects.all(), required=False, allow_null=True,
        help_text="a team code, e.g. ARG (give team or match)",
    )  # fmt: skip
    match = serializers.SlugRelatedField(
        slug_field="slug", queryset=Match.objects.all(), required=False, allow_null=True,
        help_text="a match slug (give team or match)",
    )  # fmt: skip
    kinds = KindsField(
        required=False, allow_empty=True,
        help_text="what to be pushed about; default kickoff, goal, red_card, full_time, var",
    )  # fmt: skip

    name = serializers.SerializerMethodField(help_text='"Argentina", or "Argentina v France"')

    class Meta:
        model = Follow
        fields = ["id", "team", "match", "name", "kinds", "created_at"]
        read_only_fields = ["id", "name", "created_at"]
        validators: list[Any] = []  # uniqueness: a repeated follow updates the kinds

    def get_name(self, follow: Follow) -> str:
        if follow.team is not None:
            return follow.team.name
        match = follow.match
        return f"{match.home.name} v {match.away.name}" if match is not None else ""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and (attrs.get("team") is None) == (attrs.get("match") is None):
            raise serializers.ValidationError({"detail": "give exactly one of team, match"})
        return attrs


class FollowKindsSerializer(serializers.Serializer):
    kinds = KindsField(allow_empty=True)


@extend_schema_field(
    {"type": "string", "pattern": r"^\d{2}:\d{2}$", "nullable": True, "example": "23:00"}
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time in the fan's own time zone, "HH:MM" (no offset: it has none)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%H:%M")
        kwargs.setdefault("input_formats", ["%H:%M", "%H:%M:%S"])
        super().__init__(**kwargs)


class PreferencesSerializer(serializers.ModelSerializer):
    quiet_from = LocalTimeField(allow_null=True, required=False, help_text="local time, HH:MM")
    quiet_to = LocalTimeField(allow_null=True, required=False, help_text="local time, HH:MM")

    class Meta:
        model = Preferences
        fields = ["timezone", "quiet_from", "quiet_to", "delay", "cap", "reminder_minutes"]
        extra_kwargs = {
            "delay": {"min_value": 0, "max_value": 120},
            "cap": {"min_value": 1, "max_value": 20},
            "reminder_minutes": {"min_value": 5, "max_value": 1440},
        }

    def validate_timezone(self, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise serializers.ValidationError("not an IANA time zone name") from error
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        quiet = [attrs.get("quiet_from", getattr(self.instance, "quiet_from", None)),
                 attrs.get("quiet_to", getattr(self.instance, "quiet_to", None))]  # fmt: skip
        if (quiet[0] is None) != (quiet[1] is None):
            raise serializers.ValidationError(
                {"quiet_to": "give both quiet_from and quiet_to, or neither"}
            )
        return attrs


class KeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=128)
    auth = serializers.CharField(max_length=64)

    def validate_p256dh(self, value: str) -> str:
        if problem := endpoints.p256dh_problem(value):
            raise serializers.ValidationError(problem)
        return value

    def validate_auth(self, value: str) -> str:
        if problem := endpoints.auth_problem(value):
            raise serializers.ValidationError(problem)
        return value


class SubscriptionSerializer(serializers.Serializer):
    """A browser's PushSubscription, as `subscription.toJSON()` gives it."""

    endpoint = serializers.URLField(max_length=1024)
    keys = KeysSerializer()
    expirationTime = serializers.IntegerField(required=False, allow_null=True)

    def validate_endpoint(self, value: str) -> str:
        if problem := endpoints.endpoint_problem(value):
            raise serializers.ValidationError(problem)
        return value


class DeviceRequestSerializer(serializers.Serializer):
    device_id = serializers.RegexField(
        r"^[A-Za-z0-9_.:-]{1,64}$", help_text="the client's id for this device"
    )
    backend = serializers.ChoiceField(choices=Device.Backend.choices, default="webpush")
    subscription = SubscriptionSerializer(
        required=False, help_text="Web Push: the browser's subscription"
    )
    token = serializers.CharField(
        max_length=4096, required=False, help_text="HTTP API: the device token"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["backend"] == "webpush" and "subscription" not in attrs:
            raise serializers.ValidationError({"subscription": "required for webpush"})
        if attrs["backend"] == "http" and not attrs.get("token"):
            raise serializers.ValidationError({"token": "required for the http backend"})
        if attrs["backend"] == "http" and not settings.PUSH_HTTP_URL:
            raise serializers.ValidationError({"backend": "the http backend is not configured"})
        return attrs

    def device_fields(self) -> dict[str, Any]:
        data = self.validated_data
        if data["backend"] == "http":
            return {
                "backend": "http",
                "token": data["token"],
                "endpoint": "",
                "p256dh": "",
                "auth": "",
            }
        sub = data["subscription"]
        return {"backend": "webpush", "endpoint": sub["endpoint"], "p256dh": sub["keys"]["p256dh"],
                "auth": sub["keys"]["auth"], "token": ""}  # fmt: skip


class DeviceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Device
        fields = ["device_id", "backend", "endpoint", "created_at"]


class PushConfigSerializer(serializers.Serializer):
    vapid_public_key = serializers.CharField(
        help_text="applicationServerKey for PushManager.subscribe"
    )
    kinds = serializers.DictField(child=serializers.CharField(), help_text="kind -> label")
    hold_seconds = serializers.IntegerField()
