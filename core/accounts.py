"""Accounts for apps: sign up, sign in and out. A username and password give the API token
(the web client and the mini app send it as `Authorization: Token ...` and in the socket's
`auth` op). Sign-up needs no e-mail: a fan picks a name and a password that Django's
password validators accept."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.throttles import LoginThrottle, SignUpThrottle
from core.users import User


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class SignUpSerializer(serializers.Serializer):
    username = serializers.CharField(
        min_length=3, max_length=30, help_text="letters, digits and @ . + - _; unique, any case"
    )
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)

    def validate_username(self, value: str) -> str:
        UnicodeUsernameValidator()(value)
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("this username is taken", code="username_taken")
        return value

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        try:  # the validators compare the password with the username, hence here
            validate_password(data["password"], User(username=data["username"]))
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return data


class SignedInSerializer(serializers.Serializer):
    token = serializers.CharField()
    user = serializers.IntegerField(help_text="the user id (user:<id> is their channel)")
    username = serializers.CharField()


class SignUpView(APIView):
    """A new fan's account, signed in at once."""

    permission_classes = [permissions.AllowAny]
    throttle_classes = [SignUpThrottle]

    @extend_schema(
        request=SignUpSerializer,
        responses={
            201: SignedInSerializer,
            400: OpenApiResponse(description="username taken or invalid, password too weak"),
            429: OpenApiResponse(description="too many sign-ups from this address"),
        },
    )
    def post(self, request: Request) -> Response:
        """Sign up with a username and a password: the new account's token."""
        body = SignUpSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                user = User.objects.create_user(**body.validated_data)
        except IntegrityError:  # the same name, signed up at the same moment
            raise serializers.ValidationError(
                {"username": ["this username is taken"]}, code="username_taken"
            ) from None
        token = Token.objects.create(user=user)
        signed_in = {"token": token.key, "user": user.pk, "username": user.get_username()}
        return Response(signed_in, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    throttle_classes = [LoginThrottle]

    def get_permissions(self) -> list[Any]:
        if self.request.method == "DELETE":
            return [permissions.IsAuthenticated()]
        return [permissions.AllowAny()]

    @extend_schema(
        request=CredentialsSerializer,
        responses={
            200: SignedInSerializer,
            400: OpenApiResponse(description="wrong username or password"),
        },
    )
    def post(self, request: Request) -> Response:
        """Sign in: your API token (the same token every time until you sign out)."""
        body = CredentialsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(request._request, **body.validated_data)
        if user is None or not user.is_active:
            return Response(
                {"detail": "wrong username or password", "code": "bad_credentials"}, status=400
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "user": user.pk, "username": user.get_username()})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        """Sign out everywhere: the token stops working on every process within about a
        second (core.signals; on sockets at their next auth)."""
        for token in Token.objects.filter(user_id=int(request.user.pk or 0)):
            token.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """What a locked-out sign-in gets (django-axes' AXES_LOCKOUT_CALLABLE): 429 with
    Retry-After, as JSON on the API (docs/operations.md: every 429 of the API is JSON with
    Retry-After), as text on the admin's login page."""
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 900
    detail = f"too many wrong passwords for this username: try again in {(seconds + 59) // 60} min"
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": detail, "code": "locked_out"}, status=429)
    else:
        response = HttpResponse(detail, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response
