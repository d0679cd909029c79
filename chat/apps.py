from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_roles(sender: AppConfig, **kwargs: Any) -> None:
    from chat.roles import roles_ensure

    roles_ensure()


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chat import signals  # noqa: F401 - follows the league events (members leaving)

        post_migrate.connect(_ensure_roles, sender=self, dispatch_uid="chat_roles")
