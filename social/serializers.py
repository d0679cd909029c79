from rest_framework import serializers

from social.models import ReactionKind


class ReactionWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ReactionKind.choices)


class MomentSerializer(serializers.Serializer):
    seq = serializers.IntegerField(help_text="the moment's event, as on the match channel")
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="reactions by kind (kinds with none left out)"
    )
    mine = serializers.ChoiceField(
        choices=ReactionKind.choices, allow_null=True, help_text="your reaction, signed in"
    )
