from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_roles(sender: AppConfig, **kwargs: Any) -> None:
    from matches.roles import roles_ensure

    roles_ensure()


class MatchesConfig(AppConfig):
    name = "matches"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Permissions exist only after migrate has run, so the groups are (re)built then.
        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="matches_roles")
