from django.apps import AppConfig


class GatewayConfig(AppConfig):
    """The socket server, on top of every other layer (docs/architecture.md)."""

    name = "gateway"
