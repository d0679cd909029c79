from django.http import HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from matches import commands, selectors
from matches.filters import MatchFilter
from matches.models import Match, Team
from matches.serializers import (
    CompetitionSerializer,
    EventWriteSerializer,
    FixtureSerializer,
    GroupSerializer,
    MatchDetailSerializer,
    MatchSerializer,
    PlayerSerializer,
    TeamSerializer,
    TimelineEventSerializer,
)


class CanOperateMatch(permissions.BasePermission):
    message = "operating a match needs the matches.operate_match permission"

    def has_permission(self, request: Request, view: object) -> bool:
        return bool(request.user and request.user.has_perm("matches.operate_match"))


class CompetitionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.competition_list()
    serializer_class = CompetitionSerializer
    lookup_field = "slug"
    filterset_fields: list[str] = []

    @extend_schema(
        responses=FixtureSerializer(many=True),
        summary="The knockout bracket: each fixture's sources, the teams known so far and "
        "its match once both are (docs/tournament.md)",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def bracket(self, request: Request, slug: str) -> Response:
        fixtures = selectors.competition_fixtures(self.get_object())
        return Response(FixtureSerializer(fixtures, many=True).data)

    @extend_schema(
        responses=GroupSerializer(many=True),
        summary="The group tables, from the finished group matches, ordered by the "
        "edition's tie-breaks (docs/tournament.md)",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def groups(self, request: Request, slug: str) -> Response:
        tables = selectors.group_tables(self.get_object())
        return Response(GroupSerializer(tables, many=True).data)


class TeamViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.team_list()
    serializer_class = TeamSerializer
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z]{3}"
    filterset_fields: list[str] = []

    def get_object(self) -> Team:
        return get_object_or_404(self.get_queryset(), code=self.kwargs["code"].upper())

    @extend_schema(
        responses=PlayerSerializer(many=True),
        summary="The team's squad: player ids for first-scorer predictions and operators",
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def players(self, request: Request, code: str) -> Response:
        players = selectors.team_players(self.get_object())
        return Response(PlayerSerializer(players, many=True).data)


class MatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_field = "slug"
    filterset_class = MatchFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if self.action == "retrieve":
            return selectors.match_detail_list()
        return selectors.match_list()

    def get_serializer_class(self):  # type: ignore[no-untyped-def]
        if self.action == "retrieve":
            return MatchDetailSerializer
        if self.action == "events":
            return EventWriteSerializer
        return MatchSerializer

    @extend_schema(
        responses={200: OpenApiResponse(description="the live snapshot, as on the WebSocket")},
        summary="Live snapshot from Redis, with ETag (the match seq) for cheap polling",
    )
    @action(detail=True, methods=["get"], url_path="live", filter_backends=[])
    def live(self, request: Request, slug: str) -> HttpResponse:
        snapshot = selectors.live_snapshot_or_rebuild(slug)
        if snapshot is None:
            return Response({"detail": "No such match."}, status=status.HTTP_404_NOT_FOUND)
        seq, text, _ = snapshot
        etag = f'"{slug}:{seq}"'
        response: HttpResponse = (
            HttpResponseNotModified()
            if etag in request.headers.get("If-None-Match", "")
            else HttpResponse(text, content_type="application/json")
        )
        response["ETag"] = etag
        # Polling clients and CDNs may serve a one-second-old score; stale copies are fine for
        # a few seconds more while a fresh one is fetched.
        response["Cache-Control"] = "public, max-age=1, stale-while-revalidate=5"
        return response

    @extend_schema(
        responses={
            200: OpenApiResponse(
                description="`seq` and `ev`: every event as its frame carried it (docs/protocol.md)"
            ),
            404: OpenApiResponse(description="no such match"),
        },
        summary="The whole timeline in the WebSocket's shape, for a client that joins late",
    )
    @action(detail=True, methods=["get"], url_path="timeline", filter_backends=[])
    def timeline(self, request: Request, slug: str) -> HttpResponse:
        found = selectors.match_timeline_items(slug)
        if found is None:
            return Response({"detail": "No such match."}, status=status.HTTP_404_NOT_FOUND)
        seq, items = found
        etag = f'"{slug}:{seq}:tl"'
        if etag in request.headers.get("If-None-Match", ""):
            response: HttpResponse = HttpResponseNotModified()
        else:
            response = Response({"seq": seq, "ev": items})
        response["ETag"] = etag
        response["Cache-Control"] = "public, max-age=1, stale-while-revalidate=5"
        return response

    @extend_schema(
        request=EventWriteSerializer,
        responses={
            201: TimelineEventSerializer,
            400: OpenApiResponse(description="invalid input or a broken match rule"),
            401: OpenApiResponse(description="no credentials"),
            403: OpenApiResponse(description="no operate_match permission"),
        },
        summary="Record an event or a status change on a match (operators)",
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[permissions.IsAuthenticated, CanOperateMatch],
        filter_backends=[],
    )
    def events(self, request: Request, slug: str) -> Response:
        match = get_object_or_404(Match.objects.select_related("home", "away"), slug=slug)
        serializer = EventWriteSerializer(data=request.data, context={"match": match})
        serializer.is_valid(raise_exception=True)
        recorded = commands.match_apply(match=match, command=serializer.to_command())
        event = selectors.match_timeline().get(pk=recorded.event.pk)
        code = status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK
        return Response(TimelineEventSerializer(event).data, status=code)
