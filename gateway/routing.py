"""WebSocket URL routes."""

from django.conf import settings
from django.urls import path

from gateway.consumers import GatewayConsumer

websocket_urlpatterns = [path("ws/", GatewayConsumer.as_asgi())]

if settings.WS_STOCK_ENDPOINT:
    # The stock Channels pattern, served only for benchmarks (bench/fanout.py).
    from gateway.stock import StockConsumer

    websocket_urlpatterns.append(path("ws/stock/", StockConsumer.as_asgi()))
