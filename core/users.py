"""The user model as the code types it, and the signed-in user of a request.

livescore keeps Django's own user model (no AUTH_USER_MODEL), so services take `User`.
Views that require a signed-in user read it through `signed_in`, which turns the
`User | AnonymousUser` of `request.user` into a `User` (or the 401 the permission class
would have given) instead of a cast."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

__all__ = ["User", "signed_in"]


def signed_in(request: Request | HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # AnonymousUser is not one
        raise NotAuthenticated()
    return user
