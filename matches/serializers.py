from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from matches import centre
from matches.bracket import source_label
from matches.commands import COMMAND_KINDS, EventCommand
from matches.feed import MAX_BATCH, MAX_SEQ
from matches.models import (
    Competition,
    Fixture,
    Match,
    MatchEvent,
    MatchStatus,
    Player,
    Stage,
    Team,
)
from matches.selectors import match_team


class StageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["slug", "name", "kind", "order"]


class CompetitionSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Competition
        fields = ["slug", "name", "season", "stages"]


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["code", "name", "flag"]


class PlayerSerializer(serializers.ModelSerializer):
    class Meta:
        model = Player
        fields = ["id", "name", "number", "position"]


class MatchSerializer(serializers.ModelSerializer):
    competition: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    stage: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    home = TeamSerializer(read_only=True)
    away = TeamSerializer(read_only=True)

    class Meta:
        model = Match
        fields = [
            "slug",
            "competition",
            "stage",
            "group",
            "kickoff",
            "venue",
            "status",
            "minute",
            "home",
            "away",
            "home_score",
            "away_score",
            "home_pens",
            "away_pens",
            "seq",
        ]


class TimelineEventSerializer(serializers.ModelSerializer):
    # null where an event has none: a status change has no team, a team goal may have no
    # named scorer, only a substitution has a related player, only a correction supersedes.
    team: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    player = PlayerSerializer(read_only=True, allow_null=True)
    related_player = PlayerSerializer(read_only=True, allow_null=True)
    supersedes: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="seq", read_only=True, allow_null=True, help_text="seq of the event corrected"
    )
    superseded = serializers.SerializerMethodField()

    class Meta:
        model = MatchEvent
        fields = [
            "seq",
            "kind",
            "period",
            "minute",
            "stoppage",
            "clock",
            "team",
            "player",
            "related_player",
            "scored",
            "status",
            "detail",
            "supersedes",
            "superseded",
        ]

    def get_superseded(self, event: MatchEvent) -> bool:
        return hasattr(event, "superseded_by")


class MatchDetailSerializer(MatchSerializer):
    timeline = TimelineEventSerializer(source="events", many=True, read_only=True)

    class Meta(MatchSerializer.Meta):
        fields = [*MatchSerializer.Meta.fields, "timeline"]


class LineupPlayerSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, max_value=99, required=False)
    name = serializers.CharField(max_length=120)
    position = serializers.CharField(
        max_length=4, required=False, allow_blank=True, help_text="GK, RCB, CF, ..."
    )


class StatsSerializer(serializers.Serializer):
    """One team's figures of a period so far; any of them may be left out."""

    possession = serializers.IntegerField(min_value=0, max_value=100, required=False)
    shots = serializers.IntegerField(min_value=0, max_value=centre.MAX_STAT, required=False)
    on_target = serializers.IntegerField(min_value=0, max_value=centre.MAX_STAT, required=False)
    corners = serializers.IntegerField(min_value=0, max_value=centre.MAX_STAT, required=False)
    fouls = serializers.IntegerField(min_value=0, max_value=centre.MAX_STAT, required=False)
    yellow = serializers.IntegerField(min_value=0, max_value=centre.MAX_STAT, required=False)
    red = serializers.IntegerField(min_value=0, max_value=centre.MAX_STAT, required=False)
    offsides = serializers.IntegerField(min_value=0, max_value=centre.MAX_STAT, required=False)

    def to_internal_value(self, data: Any) -> Any:
        # A misspelt figure must be an error, not a figure silently left out.
        if isinstance(data, dict) and (unknown := set(data) - set(centre.STAT_KEYS)):
            raise serializers.ValidationError(f"unknown statistics: {', '.join(sorted(unknown))}")
        return super().to_internal_value(data)


class CentreFields(serializers.Serializer):
    """The fields of a match centre event (`lineup`, `stats`), checked by the same rules as
    the services apply (matches/centre.py), so a bad one is a 400 and nothing is stored."""

    formation = serializers.CharField(max_length=12, required=False, help_text="lineup: 4-3-3")
    starting = LineupPlayerSerializer(many=True, required=False, help_text="lineup: the XI")
    bench = LineupPlayerSerializer(many=True, required=False, help_text="lineup: substitutes")
    credit = serializers.CharField(
        max_length=80, required=False, help_text="lineup: the source to credit where it is shown"
    )
    period = serializers.IntegerField(
        min_value=1, max_value=3, required=False, help_text="stats: 1, 2 or 3 (extra time)"
    )
    home = StatsSerializer(required=False, help_text="stats: the home team's figures")
    away = StatsSerializer(required=False, help_text="stats: the away team's figures")
    simulated = serializers.BooleanField(
        required=False, help_text="stats: the figures are simulated, not the real match's"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind")
        try:
            if kind == "lineup":
                if not attrs.get("team"):
                    raise centre.CentreError("a line-up needs its team")
                centre.lineup_clean(
                    formation=attrs.get("formation", ""),
                    starting=attrs.get("starting", []),
                    bench=attrs.get("bench", []),
                    credit=attrs.get("credit", ""),
                )
            elif kind == "stats":
                centre.stats_clean(
                    period=attrs.get("period", 0),
                    home=dict(attrs.get("home", {})),
                    away=dict(attrs.get("away", {})),
                )
        except centre.CentreError as exc:
            raise serializers.ValidationError({"kind": str(exc)}) from None
        return attrs


def centre_data(data: dict[str, Any]) -> dict[str, Any]:
    """The payload of a match centre command, from a validated event."""
    return {k: _plain(data[k]) for k in centre.CENTRE_KEYS if k in data}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [dict(v) for v in value]
    return dict(value) if isinstance(value, dict) else value


class EventWriteSerializer(CentreFields):
    """An operator's change to a match, resolved against that match (passed in context)."""

    kind = serializers.ChoiceField(choices=COMMAND_KINDS)
    team = serializers.CharField(required=False, help_text="FIFA code of the team")
    player = serializers.IntegerField(required=False, help_text="player id")
    related_player = serializers.IntegerField(required=False, help_text="player replaced")
    minute = serializers.IntegerField(required=False, min_value=0, max_value=130)
    stoppage = serializers.IntegerField(required=False, min_value=0, max_value=30, default=0)
    scored = serializers.BooleanField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(choices=MatchStatus.choices, required=False)
    target = serializers.IntegerField(required=False, help_text="seq of the goal corrected")
    detail = serializers.CharField(required=False, max_length=200, default="")
    value = serializers.IntegerField(
        required=False, min_value=0, max_value=100, help_text="possession %"
    )

    def validate_team(self, code: str) -> Team:
        team = match_team(self.context["match"], code)
        if team is None:
            raise serializers.ValidationError(f"{code} does not play in this match")
        return team

    def _player(self, player_id: int | None) -> Player | None:
        if player_id is None:
            return None
        player = Player.objects.filter(pk=player_id).first()
        if player is None:
            raise serializers.ValidationError({"player": f"no player {player_id}"})
        return player

    def _target(self, seq: int | None) -> MatchEvent | None:
        if seq is None:
            return None
        event = self.context["match"].events.filter(seq=seq).first()
        if event is None:
            raise serializers.ValidationError({"target": f"no event #{seq} in this match"})
        return event

    def to_command(self) -> EventCommand:
        data: dict[str, Any] = self.validated_data
        return EventCommand(
            kind=data["kind"],
            team=data.get("team"),
            player=self._player(data.get("player")),
            related_player=self._player(data.get("related_player")),
            minute=data.get("minute"),
            stoppage=data["stoppage"],
            scored=data["scored"],
            status=data.get("status"),
            target=self._target(data.get("target")),
            detail=data["detail"],
            value=data.get("value"),
            data=centre_data(data),
        )


class FeedEventSerializer(CentreFields):
    """One provider event. `seq` numbers the provider's events per match, from 1."""

    id = serializers.CharField(max_length=80)
    seq = serializers.IntegerField(min_value=1, max_value=MAX_SEQ)
    match = serializers.SlugField(max_length=64)
    kind = serializers.ChoiceField(choices=COMMAND_KINDS)
    team = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    player = serializers.CharField(max_length=120, required=False)
    player_out = serializers.CharField(max_length=120, required=False)
    minute = serializers.IntegerField(min_value=0, max_value=130, required=False)
    stoppage = serializers.IntegerField(min_value=0, max_value=30, required=False)
    status = serializers.ChoiceField(choices=MatchStatus.choices, required=False)
    scored = serializers.BooleanField(required=False)
    target = serializers.CharField(max_length=80, required=False, help_text="id corrected")
    detail = serializers.CharField(max_length=200, required=False)
    value = serializers.IntegerField(min_value=0, max_value=100, required=False)


class FeedBatchSerializer(serializers.Serializer):
    # many=True makes a ListSerializer, which takes max_length; the stubs type the child.
    events = FeedEventSerializer(many=True, allow_empty=False, max_length=MAX_BATCH)  # type: ignore[call-arg]

    def validate_events(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        slugs = {e["match"] for e in events}
        known = set(Match.objects.filter(slug__in=slugs).values_list("slug", flat=True))
        if unknown := sorted(slugs - known):
            raise serializers.ValidationError(f"unknown matches: {', '.join(unknown)}")
        return events


class GroupRowSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="tied teams share one")
    tied = serializers.BooleanField(help_text="level on every tie-break the data decides")
    team = TeamSerializer()
    played = serializers.IntegerField()
    points = serializers.IntegerField()
    goals_for = serializers.IntegerField()
    goals_against = serializers.IntegerField()
    difference = serializers.IntegerField()


class GroupSerializer(serializers.Serializer):
    group = serializers.CharField(help_text="the group's letter")
    complete = serializers.BooleanField(help_text="every match of the group has finished")
    table = GroupRowSerializer(many=True)


class FixtureSideSerializer(serializers.Serializer):
    # Fields named like attributes of Field itself (the API's names): the serializer's
    # metaclass moves them into `fields`, which the stubs cannot know.
    source = serializers.CharField(help_text="1A, 2B, 3ABCDF, W73, L101")  # type: ignore[assignment]
    label = serializers.CharField(help_text='e.g. "Winner Group A", "Winner Match 73"')  # type: ignore[assignment]
    team = serializers.CharField(allow_null=True, help_text="team code once known")


class FixtureSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    stage = serializers.CharField(source="stage.slug")
    kickoff = serializers.DateTimeField()
    venue = serializers.CharField()
    home = serializers.SerializerMethodField()
    away = serializers.SerializerMethodField()
    match = serializers.SerializerMethodField(
        help_text="the match's slug once both teams are known"
    )

    @extend_schema_field(FixtureSideSerializer)
    def get_home(self, fixture: Fixture) -> dict:
        return _side(fixture.home_source, fixture.home_team)

    @extend_schema_field(FixtureSideSerializer)
    def get_away(self, fixture: Fixture) -> dict:
        return _side(fixture.away_source, fixture.away_team)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_match(self, fixture: Fixture) -> str | None:
        return fixture.match.slug if fixture.match else None


def _side(source: str, team: Team | None) -> dict:
    return {"source": source, "label": source_label(source), "team": team.code if team else None}
