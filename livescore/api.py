"""API-wide pieces: the exception handler that turns domain rule errors into 400s."""

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from matches.services import MatchRuleError
from predictions.services import PredictionError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, MatchRuleError):
        return Response({"detail": str(exc), "code": "match_rule"}, status=400)
    if isinstance(exc, PredictionError):
        return Response({"detail": str(exc), "code": "prediction_rule"}, status=exc.status)
    return drf_exception_handler(exc, context)
