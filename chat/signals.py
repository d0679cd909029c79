"""What chat follows of the other apps: a fan who leaves a league leaves its room at once.
Rooms themselves are made on first use (`services.room_open`), not when a match or league
is saved, so the apps below chat never trigger chat's writes."""

from typing import Any

from django.dispatch import receiver

from chat import services
from predictions.signals import member_left


@receiver(member_left, dispatch_uid="chat_member_left")
def _member_left(sender: Any, league_id: int, user_id: int, **kwargs: Any) -> None:
    services.member_remove(league_id=league_id, user_id=user_id)
