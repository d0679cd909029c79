from typing import Any

from rest_framework import serializers

from matches.models import Match, Player
from predictions.models import Band, Kind, League, LeagueMember, Outcome, Prediction, ScoringRules
from predictions.services import Pick, PredictionError, prediction_check


class FixtureSummarySerializer(serializers.Serializer):
    """The match a prediction is on, as a fan's history lists it."""

    home = serializers.CharField(source="home.code")
    away = serializers.CharField(source="away.code")
    kickoff = serializers.DateTimeField()
    status = serializers.CharField()
    home_score = serializers.IntegerField()
    away_score = serializers.IntegerField()


class PredictionSerializer(serializers.ModelSerializer):
    match: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    user = serializers.CharField(source="user.username", read_only=True)
    fixture = FixtureSummarySerializer(source="match", read_only=True)

    class Meta:
        model = Prediction
        fields = [
            "match",
            "fixture",
            "kind",
            "user",
            "home_goals",
            "away_goals",
            "outcome",
            "player",
            "no_goal",
            "band",
            "points",
            "status",
            "updated_at",
        ]
        read_only_fields = fields


class PickSerializer(serializers.Serializer):
    """The body of PUT .../predictions/<kind>/: the fields of that kind."""

    home_goals = serializers.IntegerField(required=False, min_value=0, max_value=30)
    away_goals = serializers.IntegerField(required=False, min_value=0, max_value=30)
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)
    player = serializers.PrimaryKeyRelatedField(queryset=Player.objects.all(), required=False)
    no_goal = serializers.BooleanField(required=False, default=False)
    band = serializers.ChoiceField(choices=Band.choices, required=False)

    def to_pick(self) -> Pick:
        return self.pick_of(self.validated_data)

    @staticmethod
    def pick_of(d: dict[str, Any]) -> Pick:
        return Pick(
            home_goals=d.get("home_goals"),
            away_goals=d.get("away_goals"),
            outcome=d.get("outcome", ""),
            player=d.get("player"),
            no_goal=d.get("no_goal", False),
            band=d.get("band"),
        )


class MatchdayPickSerializer(PickSerializer):
    match = serializers.SlugRelatedField(slug_field="slug", queryset=Match.objects.all())
    kind = serializers.ChoiceField(choices=Kind.choices)


class MatchdaySerializer(serializers.Serializer):
    """A matchday's picks and jokers in one save (POST /api/v1/me/matchday/)."""

    picks = MatchdayPickSerializer(many=True, max_length=200)  # type: ignore[call-arg]
    jokers = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Match.objects.all(),
        many=True,
        required=False,
        help_text="matches to play this round's joker on (one per stage)",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        keys = [(p["match"].pk, p["kind"]) for p in attrs["picks"]]
        if len(keys) != len(set(keys)):
            raise serializers.ValidationError({"picks": "a match and kind appear twice"})
        stages = [m.stage_id for m in attrs.get("jokers", [])]
        if len(stages) != len(set(stages)):
            raise serializers.ValidationError({"jokers": "one joker per stage"})
        for n, p in enumerate(attrs["picks"]):
            try:
                prediction_check(p["match"], p["kind"], PickSerializer.pick_of(p))
            except PredictionError as exc:
                raise serializers.ValidationError({"picks": {str(n): str(exc)}}) from None
        return attrs

    def to_picks(self) -> list[tuple[Match, str, Pick]]:
        return [
            (p["match"], p["kind"], PickSerializer.pick_of(p)) for p in self.validated_data["picks"]
        ]


class RefusedSerializer(serializers.Serializer):
    match = serializers.CharField()
    kind = serializers.CharField(help_text="a prediction kind, or joker")
    detail = serializers.CharField()
    code = serializers.CharField(help_text="locked: the match has kicked off")


class LeagueSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    members = serializers.IntegerField(source="memberships.count", read_only=True)

    class Meta:
        model = League
        fields = ["id", "name", "owner", "members", "created_at"]
        read_only_fields = ["id", "owner", "members", "created_at"]
        extra_kwargs = {"name": {"min_length": 1, "max_length": 80}}


class MemberSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    owner = serializers.SerializerMethodField()

    class Meta:
        model = LeagueMember
        fields = ["user", "username", "owner", "joined_at"]

    def get_owner(self, member: LeagueMember) -> bool:
        return member.user_id == member.league.owner_id


class InviteRequestSerializer(serializers.Serializer):
    expires_in_hours = serializers.IntegerField(min_value=1, max_value=24 * 30, default=72)
    max_uses = serializers.IntegerField(min_value=1, max_value=500, default=50)


class JoinSerializer(serializers.Serializer):
    code = serializers.CharField(min_length=1, max_length=16)


class EntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    points = serializers.IntegerField()
    exacts = serializers.IntegerField(help_text="right exact scores: the first tie-break")


class BoardSerializer(serializers.Serializer):
    scope = serializers.CharField()
    provisional = serializers.BooleanField(
        help_text="true: 'if it ended now' standings while a match is live (docs/scoring.md)"
    )
    size = serializers.IntegerField()
    top = EntrySerializer(many=True)
    me = EntrySerializer(allow_null=True)
    around = EntrySerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    """An error answer (livescore/schema.py documents the common ones)."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


class JokerSerializer(serializers.Serializer):
    """A fan's joker: their points on `match` count twice (one per stage)."""

    match = serializers.CharField(source="match.slug")
    stage = serializers.CharField(source="stage.slug")
    updated_at = serializers.DateTimeField()


class OutrightPickSerializer(serializers.Serializer):
    """The body of PUT .../outrights/<kind>/: team codes (one for the champion, two for the
    finalists) or a player id (the top scorer)."""

    teams = serializers.ListField(
        child=serializers.CharField(min_length=3, max_length=3), required=False, max_length=2
    )
    player = serializers.PrimaryKeyRelatedField(queryset=Player.objects.all(), required=False)


class OutrightSerializer(serializers.Serializer):
    competition = serializers.CharField(source="competition.slug")
    kind = serializers.CharField()
    team = serializers.CharField(source="team.code", allow_null=True, default=None)
    player = serializers.IntegerField(source="player_id", allow_null=True)
    points = serializers.IntegerField()


class ScoringRulesSerializer(serializers.ModelSerializer):
    """The points a match pays (docs/scoring.md), with its stage's multiplier resolved."""

    multiplier = serializers.IntegerField(read_only=True, help_text="this match's stage")

    class Meta:
        model = ScoringRules
        fields = [
            "exact_score",
            "goal_difference",
            "score_outcome",
            "winner",
            "first_scorer",
            "possession",
            "extra_time_counts",
            "penalties_decide_winner",
            "multiplier",
            "rarity_bonus",
            "jokers",
            "outright_champion",
            "outright_finalist",
            "outright_top_scorer",
        ]
        read_only_fields = fields


class MatchdayResultSerializer(serializers.Serializer):
    saved = PredictionSerializer(many=True)
    jokers = JokerSerializer(many=True, help_text="jokers played")
    refused = RefusedSerializer(many=True)
