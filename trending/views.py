from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trending.live import trending_list

CACHE_SECONDS = 5  # the board is recomputed about this often


class TrendingView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        responses={
            200: OpenApiResponse(
                description='Live matches, most exciting first (docs/trending.md): [{"slug", '
                '"h", "a" team codes, "s" score, "m" minute, "w" watchers, "x" excitement}]'
            )
        }
    )
    def get(self, request: Request) -> Response:
        """Live matches ranked by excitement (watchers, chat, recent goals, VAR, closeness)."""
        response = Response(trending_list())
        response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
        return response
