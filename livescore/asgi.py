import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livescore.settings")
# Django must be set up before anything imports models (consumers do).
django_asgi_app = get_asgi_application()

from core import tracing  # noqa: E402

tracing.setup("livescore-web")

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from gateway.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Origins are checked by the consumer: the policy also admits native clients that
        # send no Origin but hold a valid token (docs/protocol.md).
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
