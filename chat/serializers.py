from rest_framework import serializers

from chat.models import Message, Room, Sanction
from chat.text import MAX_CHARS


class RoomSerializer(serializers.ModelSerializer):
    match: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    channel = serializers.SerializerMethodField()

    class Meta:
        model = Room
        fields = ["id", "channel", "match", "league", "slow_seconds"]
        read_only_fields = fields

    def get_channel(self, room: Room) -> str:
        return f"chat:room:{room.pk}"


class SlowModeSerializer(serializers.Serializer):
    slow_seconds = serializers.IntegerField(min_value=0, max_value=3600)
    reason = serializers.CharField(max_length=200, required=False, default="")


class MessageSerializer(serializers.ModelSerializer):
    """A message as history pages show it (frames carry the same fields, shorter keys)."""

    user = serializers.IntegerField(source="user_id", read_only=True)
    name = serializers.SerializerMethodField()
    ts = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "user", "name", "text", "ts"]
        read_only_fields = fields

    def get_name(self, message: Message) -> str:
        return (message.user.first_name or message.user.username)[:30]

    def get_ts(self, message: Message) -> int:
        """Unix milliseconds, as on the socket."""
        return int(message.created_at.timestamp() * 1000)


class StrictCharField(serializers.CharField):
    """A JSON string, not a number turned into one (as the socket's `say` requires)."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class PostSerializer(serializers.Serializer):
    # Type and presence only: the chat rules (chat/posting.py) judge the content, with the
    # same codes the socket's error frames use (`empty`, `too_long`, `blocked`, ...).
    text = StrictCharField(
        trim_whitespace=False, allow_blank=True, help_text=f"at most {MAX_CHARS} characters"
    )
    cid = StrictCharField(max_length=64, help_text="your id for this message: a retry reuses it")


class PostedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ts = serializers.IntegerField(help_text="unix milliseconds")
    cid = serializers.CharField()
    again = serializers.BooleanField(
        help_text="a repeated cid: the first post's id, not posted twice"
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="")


class ClearSerializer(ReasonSerializer):
    user = serializers.IntegerField(min_value=1)


class ReviewSerializer(ReasonSerializer):
    uphold = serializers.BooleanField(help_text="true: delete the message; false: restore it")


class SanctionRequestSerializer(ReasonSerializer):
    user = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=Sanction.Kind.choices)
    minutes = serializers.IntegerField(
        min_value=1, max_value=525600, required=False, allow_null=True
    )


class SanctionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Sanction
        fields = ["id", "user", "room", "kind", "until", "reason", "created_at", "lifted_at"]
        read_only_fields = fields
