"""API-wide pieces: the exception handler that turns domain rule errors into 4xx and an
unavailable dependency (PostgreSQL, Redis) into 503 with Retry-After, never a 500."""

import logging
import math
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import UNAVAILABLE, DomainError, TemporarilyUnavailable, store_of
from core.metrics import STORE_ERRORS

logger = logging.getLogger("livescore.api")

RETRY_AFTER_SECONDS = 5


def unavailable_body(exc: Exception) -> dict[str, str]:
    store = store_of(exc)
    STORE_ERRORS.labels(store).inc()
    logger.warning("%s unavailable: %s", store, exc)
    return {"detail": f"the {store} is unavailable; retry shortly", "code": "unavailable"}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body = {"detail": str(exc), "code": exc.code, **exc.extra}
        headers = {"Retry-After": str(math.ceil(exc.retry_after))} if exc.retry_after else None
        return Response(body, status=exc.status, headers=headers)
    if isinstance(exc, UNAVAILABLE):
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return Response(unavailable_body(exc), status=503, headers=headers)
    if isinstance(exc, TemporarilyUnavailable):
        headers = {"Retry-After": str(exc.retry_after)}
        return Response({"detail": str(exc), "code": "unavailable"}, status=503, headers=headers)
    return drf_exception_handler(exc, context)


class UnavailableMiddleware:
    """The same 503 for views outside DRF (admin, health): a dependency that is down is the
    client's cue to retry, not a server error with a traceback."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, UNAVAILABLE):
            return None
        response = JsonResponse(unavailable_body(exc), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """404 for URLs that match no route: JSON like every other API answer (handler404)."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    """500 (handler500): JSON, and no traceback; the error is in the server's log."""
    return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
