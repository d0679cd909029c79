"""What fans change over REST: follows, preferences and devices (only their own)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from matches.models import Match, Team
from notifications.kinds import bits_of
from notifications.models import DEFAULT_KINDS, Device, Follow, Preferences


def follow_set(
    *, user: User, team: Team | None, match: Match | None, kinds: list[str] | None
) -> tuple[Follow, bool]:
    """Follow a team or a match (or change the kinds of an existing follow); idempotent."""
    bits = DEFAULT_KINDS if kinds is None else bits_of(kinds)
    lookup: dict[str, Any] = {"user": user, "team": team, "match": match}
    try:
        with transaction.atomic():
            return Follow.objects.update_or_create(**lookup, defaults={"kinds": bits})
    except IntegrityError:  # a concurrent identical request created it first
        return Follow.objects.update_or_create(**lookup, defaults={"kinds": bits})


def preferences_of(user: User) -> Preferences:
    return Preferences.objects.filter(user_id=user.pk).first() or Preferences(user_id=user.pk)


def preferences_set(*, user: User, **fields: Any) -> Preferences:
    prefs = preferences_of(user)
    for name, value in fields.items():
        setattr(prefs, name, value)
    prefs.save()
    return prefs


class DeviceLimitReached(Exception):
    """The fan has `limit` devices already (PUSH_DEVICES_PER_USER)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} devices; delete one first")


def device_register(
    *, user: User, device_id: str, limit: int, **fields: Any
) -> tuple[Device, bool]:
    """Register (or refresh) a device of this fan, at most `limit` of them. A browser
    subscription registered by another fan before (a shared browser, a new sign-in) moves to
    this one. The fan's row is locked while counting, so a burst of registrations cannot
    all see room for one more."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        if Device.objects.filter(user=user).exclude(device_id=device_id).count() >= limit:
            raise DeviceLimitReached(limit)
        endpoint = fields.get("endpoint")
        if endpoint:
            Device.objects.filter(endpoint=endpoint).exclude(
                user=user, device_id=device_id
            ).delete()
        return Device.objects.update_or_create(user=user, device_id=device_id, defaults=fields)
