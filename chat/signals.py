"""Rooms follow their match or league: created with it (deleted with it by cascade), and a
fan who leaves a league leaves its room at once."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from chat import services
from matches.models import Match
from predictions.models import League, LeagueMember


@receiver(post_save, sender=Match, dispatch_uid="chat_room_for_match")
def _match_saved(sender: Any, instance: Match, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):
        services.room_for_match(instance.pk)


@receiver(post_save, sender=League, dispatch_uid="chat_room_for_league")
def _league_saved(sender: Any, instance: League, created: bool, **kwargs: Any) -> None:
    if created and not kwargs.get("raw"):
        services.room_for_league(instance.pk)


@receiver(post_delete, sender=LeagueMember, dispatch_uid="chat_member_removed")
def _member_removed(sender: Any, instance: LeagueMember, **kwargs: Any) -> None:
    services.member_remove(league_id=instance.league_id, user_id=instance.user_id)
