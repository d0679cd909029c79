"""Tokens that stop working however they go: deleted (sign-out, the admin, a cascade) or
their user deactivated. The revocation is broadcast after the transaction commits (core.auth:
every process refuses the token within about a second)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from core.auth import forget_tokens, revoke_tokens


@receiver(post_delete, sender=Token, dispatch_uid="core.token_deleted")
def token_deleted(sender: type[Token], instance: Token, **kwargs: Any) -> None:
    key = instance.key
    forget_tokens([key])  # this process at once; the others once the deletion commits
    transaction.on_commit(lambda: revoke_tokens([key]))


@receiver(post_save, sender=User, dispatch_uid="core.user_deactivated")
def user_deactivated(sender: type[User], instance: User, **kwargs: Any) -> None:
    if instance.is_active:
        return
    keys = list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True))
    forget_tokens(keys)
    transaction.on_commit(lambda: revoke_tokens(keys))
