"""A gateway's reads of sequenced channels' stored state: the snapshot and the recent frames
of a match, from the live-state shard that holds them. A reconnect herd asking for the same
read at once shares one Redis round trip (gateway/admission.py's SingleFlight)."""

from __future__ import annotations

import redis.asyncio as aioredis

from core.redis import live_url
from gateway import limits
from gateway.admission import SingleFlight
from realtime.channels import snapshot_key, timeline_key
from realtime.publish import SNAPSHOT_FIELDS, Stored, stored_from
from realtime.wire import from_timeline


class History:
    def __init__(self, servers: dict[str, aioredis.Redis]) -> None:
        self.servers = servers  # Redis URL -> client
        self.snapshots = SingleFlight("snapshot", limits.SPIKE_PROTECTION)
        self.timelines = SingleFlight("timeline", limits.SPIKE_PROTECTION)

    def _live(self, slug: str) -> aioredis.Redis:
        """The server holding a match's snapshot and timeline."""
        return self.servers[live_url(slug)]

    async def snapshot(self, slug: str) -> Stored | None:
        """The stored snapshot (seq, text, watcher slot)."""
        return await self.snapshots.do(slug, lambda: self._snapshot(slug))

    async def _snapshot(self, slug: str) -> Stored | None:
        return stored_from(await self._live(slug).hmget(snapshot_key(slug), SNAPSHOT_FIELDS))

    async def since(self, slug: str, since: int) -> list[tuple[int, str, str]]:
        """(seq, type, text) of the frames after `since`, oldest first."""
        return await self.timelines.do((slug, since), lambda: self._since(slug, since))

    async def _since(self, slug: str, since: int) -> list[tuple[int, str, str]]:
        rows = await self._live(slug).zrangebyscore(
            timeline_key(slug), f"({since}", "+inf", withscores=True
        )
        # withscores: (member bytes, score) pairs; the stubs type every reply shape at once.
        pairs = [(int(score), member.decode()) for member, score in rows]  # type: ignore[str-unpack,union-attr]
        return [(seq, *from_timeline(member)) for seq, member in pairs]
