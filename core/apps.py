from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared kernel: plumbing that several apps use. It imports no app of its own."""

    name = "core"

    def ready(self) -> None:
        from core import signals  # noqa: F401  (token revocation receivers)
