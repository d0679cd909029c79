import datetime as dt
from collections.abc import Callable

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.throttles import LeagueJoinThrottle
from core.users import signed_in
from matches.models import Competition, Match, Team
from predictions import leaderboard, outrights, selectors, services
from predictions.models import Kind, League, LeagueMember, Outright, Prediction
from predictions.serializers import (
    BoardSerializer,
    ErrorSerializer,
    InviteRequestSerializer,
    JoinSerializer,
    JokerSerializer,
    LeagueSerializer,
    MatchdayResultSerializer,
    MatchdaySerializer,
    MemberSerializer,
    OutrightPickSerializer,
    OutrightSerializer,
    PickSerializer,
    PredictionSerializer,
    RefusedSerializer,
    ScoringRulesSerializer,
)

Auth = permissions.IsAuthenticated


def rule_error(description: str) -> OpenApiResponse:
    """A PredictionError answer: {"detail": ..., "code": "prediction_rule"}."""
    return OpenApiResponse(response=ErrorSerializer, description=description)


def unknown_kind(kinds: list[str]) -> Response:
    detail = f"kind must be one of {', '.join(kinds)}"
    return Response({"detail": detail, "code": "unknown_kind"}, status=404)


def _match(slug: str) -> Match:
    return get_object_or_404(Match, slug=slug)


class PredictionPutView(APIView):
    permission_classes = [Auth]

    @extend_schema(
        request=PickSerializer,
        responses={
            200: PredictionSerializer,
            201: PredictionSerializer,
            404: rule_error("no such match, or `kind` is not one of the four kinds"),
            409: rule_error("predictions for this match are locked (kicked off)"),
        },
    )
    def put(self, request: Request, slug: str, kind: str) -> Response:
        """Create or change your prediction of one kind (idempotent); 409 once locked."""
        if kind not in Kind.values:
            return unknown_kind(Kind.values)
        match = _match(slug)
        body = PickSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        prediction, created = services.prediction_submit(
            user=signed_in(request), match=match, kind=kind, pick=body.to_pick()
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(PredictionSerializer(prediction).data, status=code)


class JokerView(APIView):
    permission_classes = [Auth]

    @extend_schema(
        request=None,
        responses={
            200: JokerSerializer,
            201: JokerSerializer,
            409: rule_error(
                "kicked off, the joker of this round is on a match that has, or "
                "the competition has no jokers"
            ),
        },
    )
    def put(self, request: Request, slug: str) -> Response:
        """Play your joker of this match's stage on it (moves it from another match of the
        stage that has not kicked off); your points on the match count twice."""
        joker, changed = services.joker_play(user=signed_in(request), match=_match(slug))
        code = status.HTTP_201_CREATED if changed else status.HTTP_200_OK
        return Response(JokerSerializer(joker).data, status=code)

    @extend_schema(
        responses={
            204: None,
            404: rule_error("no joker on this match"),
            409: rule_error("kicked off"),
        }
    )
    def delete(self, request: Request, slug: str) -> Response:
        services.joker_withdraw(user=signed_in(request), match=_match(slug))
        return Response(status=status.HTTP_204_NO_CONTENT)


class OutrightView(APIView):
    permission_classes = [Auth]

    @extend_schema(
        request=OutrightPickSerializer,
        responses={
            200: OutrightSerializer(many=True),
            400: rule_error("the pick does not fit the kind, or is not in this tournament"),
            404: rule_error("no such competition or kind"),
            409: rule_error("the tournament has kicked off"),
        },
    )
    def put(self, request: Request, slug: str, kind: str) -> Response:
        """Pick the champion (one team), the finalists (two) or the top scorer (a player)
        for the whole tournament; replaces your earlier pick; 409 once it kicks off."""
        if kind not in Outright.Kind.values:
            return unknown_kind(Outright.Kind.values)
        competition = get_object_or_404(Competition, slug=slug)
        body = OutrightPickSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        codes = [c.upper() for c in body.validated_data.get("teams", [])]
        teams = list(Team.objects.filter(code__in=codes))
        if len(teams) != len(set(codes)):
            return Response({"teams": "unknown team code"}, status=400)
        picks = outrights.outright_set(
            user=signed_in(request),
            competition=competition,
            kind=kind,
            teams=teams,
            player=body.validated_data.get("player"),
        )
        return Response(OutrightSerializer(picks, many=True).data)


class MatchdayView(APIView):
    permission_classes = [Auth]

    @extend_schema(
        request=MatchdaySerializer,
        responses={
            200: MatchdayResultSerializer,
            400: OpenApiResponse(description="a pick lacks its kind's fields; nothing is saved"),
        },
    )
    def post(self, request: Request) -> Response:
        """Save a whole matchday at once: your picks of every open match of a day, and the
        jokers of its rounds. Each match locks at its own kick-off: a pick of a match that
        has kicked off meanwhile is refused (`refused`, code `locked`), the rest are saved."""
        body = MatchdaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        saved, jokers, refused = services.matchday_submit(
            user=signed_in(request),
            picks=body.to_picks(),
            jokers=body.validated_data.get("jokers", []),
        )
        return Response(
            {
                "saved": PredictionSerializer(saved, many=True).data,
                "jokers": JokerSerializer(jokers, many=True).data,
                "refused": RefusedSerializer(refused, many=True).data,
            }
        )


class MyOutrightsView(APIView):
    permission_classes = [Auth]

    @extend_schema(responses=OutrightSerializer(many=True))
    def get(self, request: Request) -> Response:
        outrights = selectors.own_outrights(signed_in(request))
        return Response(OutrightSerializer(outrights, many=True).data)


class MyJokersView(APIView):
    permission_classes = [Auth]

    @extend_schema(responses=JokerSerializer(many=True))
    def get(self, request: Request) -> Response:
        jokers = selectors.own_jokers(signed_in(request))
        return Response(JokerSerializer(jokers, many=True).data)


class MyPredictionsView(ListAPIView):
    permission_classes = [Auth]
    serializer_class = PredictionSerializer
    filterset_fields: list[str] = []

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Prediction.objects.none()
        return selectors.own_predictions(signed_in(self.request))


class MatchPredictionsView(ListAPIView):
    """Every fan's predictions for a match: hidden until the match locks."""

    serializer_class = PredictionSerializer
    filterset_fields: list[str] = []

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):  # schema generation: no match
            return Prediction.objects.none()
        match = _match(self.kwargs["slug"])
        if not services.prediction_locked(match):
            raise PermissionDenied("predictions are visible once the match kicks off")
        return selectors.match_predictions(match)


class MatchRulesView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: ScoringRulesSerializer, 404: rule_error("no such match")})
    def get(self, request: Request, slug: str) -> Response:
        """The scoring rules this match is settled by (the rules page of the web client)."""
        rules = selectors.match_rules(_match(slug))
        response = Response(ScoringRulesSerializer(rules).data)
        response["Cache-Control"] = "public, max-age=60"
        return response


class PredictionCountsView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        responses={
            200: OpenApiResponse(
                description='{"winner": {"H": n, "D": n, "A": n}, "score": [[h, a, n], ...], '
                '"first_scorer": [[player_id, name, n], ...], "possession": {"1": n, ...}, '
                '"total": fans}'
            )
        }
    )
    def get(self, request: Request, slug: str) -> Response:
        """How many fans picked each option (refreshed every few seconds)."""
        response = Response(selectors.prediction_counts(_match(slug)))
        response["Cache-Control"] = f"public, max-age={selectors.COUNTS_SECONDS}"
        return response


class LeagueListView(APIView):
    permission_classes = [Auth]

    @extend_schema(responses=LeagueSerializer(many=True))
    def get(self, request: Request) -> Response:
        leagues = League.objects.filter(memberships__user=signed_in(request))
        leagues = leagues.select_related("owner")
        return Response(LeagueSerializer(leagues, many=True).data)

    @extend_schema(request=LeagueSerializer, responses={201: LeagueSerializer})
    def post(self, request: Request) -> Response:
        body = LeagueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        league = services.league_create(owner=signed_in(request), name=body.validated_data["name"])
        return Response(LeagueSerializer(league).data, status=status.HTTP_201_CREATED)


class LeagueInviteView(APIView):
    permission_classes = [Auth]

    @extend_schema(request=InviteRequestSerializer, responses={201: None})
    def post(self, request: Request, league_id: int) -> Response:
        body = InviteRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invite = services.league_invite(
            league=get_object_or_404(League, pk=league_id),
            by=signed_in(request),
            expires_in=dt.timedelta(hours=body.validated_data["expires_in_hours"]),
            max_uses=body.validated_data["max_uses"],
        )
        data = {"code": invite.code, "expires_at": invite.expires_at, "max_uses": invite.max_uses}
        return Response(data, status=status.HTTP_201_CREATED)


class LeagueJoinView(APIView):
    permission_classes = [Auth]
    throttle_classes = [*APIView.throttle_classes, LeagueJoinThrottle]

    @extend_schema(
        request=JoinSerializer,
        responses={
            200: LeagueSerializer,
            404: rule_error("unknown invite code"),
            409: rule_error("the league is full"),
            410: rule_error("the invite has expired or is used up"),
        },
    )
    def post(self, request: Request) -> Response:
        body = JoinSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        league = services.league_join(user=signed_in(request), code=body.validated_data["code"])
        return Response(LeagueSerializer(league).data)


class LeagueLeaveView(APIView):
    permission_classes = [Auth]

    @extend_schema(
        request=None,
        responses={204: None, 409: rule_error("the owner cannot leave their own league")},
    )
    def post(self, request: Request, league_id: int) -> Response:
        league = get_object_or_404(League, pk=league_id, memberships__user=signed_in(request))
        services.league_leave(league=league, user=signed_in(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeagueMembersView(APIView):
    permission_classes = [Auth]

    @extend_schema(
        responses={
            200: MemberSerializer(many=True),
            403: OpenApiResponse(description="the member list is for members"),
        }
    )
    def get(self, request: Request, league_id: int) -> Response:
        """The league's members by name (500 at most), the owner marked."""
        league = get_object_or_404(League, pk=league_id)
        members = selectors.league_members(league)
        if not any(m.user_id == signed_in(request).pk for m in members):
            raise PermissionDenied("the member list is for members")
        return Response(MemberSerializer(members, many=True).data)


class LeagueMemberView(APIView):
    permission_classes = [Auth]

    @extend_schema(
        responses={
            204: None,
            403: rule_error("only the owner removes members"),
            409: rule_error("the owner cannot remove themselves"),
        }
    )
    def delete(self, request: Request, league_id: int, user_id: int) -> Response:
        league = get_object_or_404(League, pk=league_id)
        services.league_remove_member(league=league, by=signed_in(request), user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


BOARD_N = OpenApiParameter(
    "n",
    {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
    description="how many from the top",
)
BOARD_SETTLED = OpenApiParameter(
    "settled",
    bool,
    description="true: the settled standings even while a match is live (default: "
    "provisional while any match counts provisionally)",
)


class _BoardView(APIView):
    permission_classes = [permissions.AllowAny]

    def scope(self, request: Request, **kwargs: object) -> str:
        raise NotImplementedError

    def members(self, scope: str) -> Callable[[], list[int]] | None:
        """A league's members, read only when a provisional board exists (its provisional
        board is ranked from their provisional totals); else None."""
        return None

    @extend_schema(parameters=[BOARD_N, BOARD_SETTLED], responses=BoardSerializer)
    def get(self, request: Request, **kwargs: object) -> Response:
        try:
            n = int(request.query_params.get("n", 100))
        except ValueError:
            n = 0
        if not 1 <= n <= 100:
            return Response({"n": "an integer from 1 to 100"}, status=400)
        settled = request.query_params.get("settled", "false").lower()
        if settled not in ("true", "false", "1", "0"):
            return Response({"settled": "true or false"}, status=400)
        user_id = request.user.pk if request.user.is_authenticated else None
        scope = self.scope(request, **kwargs)
        data = selectors.board(
            scope,
            n=n,
            user_id=user_id,
            settled=settled in ("true", "1"),
            members=None if settled in ("true", "1") else self.members(scope),
        )
        response = Response(data)
        response["Cache-Control"] = f"{'private' if user_id else 'public'}, max-age=2"
        return response


class GlobalBoardView(_BoardView):
    def scope(self, request: Request, **kwargs: object) -> str:
        return leaderboard.GLOBAL


class MatchBoardView(_BoardView):
    def scope(self, request: Request, **kwargs: object) -> str:
        return leaderboard.match_scope(_match(str(kwargs["slug"])).slug)


class LeagueBoardView(_BoardView):
    permission_classes = [Auth]

    def scope(self, request: Request, **kwargs: object) -> str:
        league = get_object_or_404(League, pk=kwargs["league_id"])
        if not LeagueMember.objects.filter(league=league, user=signed_in(request)).exists():
            raise PermissionDenied("league boards are for members")
        return leaderboard.league_scope(league.pk)

    def members(self, scope: str) -> Callable[[], list[int]] | None:
        league_id = int(scope.removeprefix("league:"))
        members = LeagueMember.objects.filter(league_id=league_id).order_by("user_id")
        return lambda: list(members.values_list("user_id", flat=True))
