"""The stock Channels fan-out pattern, kept as the benchmark baseline (bench/fanout.py).

One AsyncJsonWebsocketConsumer per socket joins a channel-layer group; the publisher does a
`group_send` of a dict and each consumer encodes it with `send_json`. Not routed unless
WS_STOCK_ENDPOINT is set.
"""

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer


def group_name(channel: str) -> str:
    return channel.replace(":", ".")  # group names may not contain ':'


class StockConsumer(AsyncJsonWebsocketConsumer):
    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("op") == "sub":
            await self.channel_layer.group_add(group_name(str(content["ch"])), self.channel_name)
            await self.send_json({"ch": content["ch"], "t": "ok"})

    async def frame(self, event: dict[str, Any]) -> None:
        await self.send_json(event["data"])
