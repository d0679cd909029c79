import json

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.throttles import FeedThrottle
from matches import feed, tasks
from matches.serializers import FeedBatchSerializer


class FeedEventsView(APIView):
    """Signed provider feed: authenticated by HMAC, not by users."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    # Limited per provider after the signature check (FeedThrottle), not per IP before it.
    throttle_classes: list = []

    @extend_schema(
        request=FeedBatchSerializer,
        parameters=[
            OpenApiParameter(feed.PROVIDER_HEADER, str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(
                feed.TIMESTAMP_HEADER,
                int,
                OpenApiParameter.HEADER,
                required=True,
                description=f"unix seconds, within {feed.FRESHNESS_SECONDS}s of the server clock",
            ),
            OpenApiParameter(
                feed.SIGNATURE_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description='"sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)',
            ),
        ],
        responses={
            202: OpenApiResponse(description="stored; applied in order by the workers"),
            400: OpenApiResponse(description="malformed batch; nothing stored"),
            401: OpenApiResponse(description="bad signature, unknown provider or stale request"),
            429: OpenApiResponse(description="over the provider rate; see Retry-After"),
            503: OpenApiResponse(description="database unavailable; nothing stored, retry"),
        },
        summary="Receive a batch of provider events",
    )
    def post(self, request: Request) -> Response:
        body = request.body  # the raw bytes the signature covers
        provider = request.headers.get(feed.PROVIDER_HEADER, "")
        try:
            feed.feed_verify(
                provider=provider,
                timestamp=request.headers.get(feed.TIMESTAMP_HEADER, ""),
                signature=request.headers.get(feed.SIGNATURE_HEADER, ""),
                body=body,
            )
        except feed.FeedAuthError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_401_UNAUTHORIZED)
        throttle = FeedThrottle(provider)
        if not throttle.allow_request(request, self):
            self.throttled(request, throttle.wait() or 1.0)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return Response({"detail": "body is not JSON"}, status=status.HTTP_400_BAD_REQUEST)
        serializer = FeedBatchSerializer(data=payload)
        serializer.is_valid(raise_exception=True)
        events = serializer.validated_data["events"]
        # Stored before the answer: what is answered 202 survives any worker or broker loss.
        # A database outage raises here and is answered 503 (core.api), nothing stored.
        match_ids = feed.feed_store(provider=provider, events=events)
        tasks.feed_wake([(provider, match_id) for match_id in sorted(match_ids)])
        return Response({"accepted": len(events)}, status=status.HTTP_202_ACCEPTED)
