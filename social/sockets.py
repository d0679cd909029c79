"""Reactions for the WebSocket gateway: `react`, asynchronous on the gateway's own Redis
client. The rules and the script are social/reactions.py's, the REST path's; only the ban
check differs: it reads chat's hot sanctions in Redis (rebuilt from PostgreSQL when lost),
as the socket's `say` does, instead of a database query per reaction."""

from __future__ import annotations

import redis.asyncio as aioredis
from channels.db import database_sync_to_async

import chat.live as live
from chat.sockets import may_read
from social import reactions
from social.reactions import BANNED, REBUILDING, Moment, ReactionError

_moment_ref = database_sync_to_async(reactions.moment_ref)
_build = database_sync_to_async(reactions.counts_build)
__all__ = ["ReactionError", "react"]


async def react(
    redis: aioredis.Redis,
    chat: live.Scripts,
    *,
    user_id: int,
    slug: str,
    seq: int,
    kind: object,
) -> Moment:
    """The fan's reaction to moment `seq` of match `slug` (kind "" or None takes it back);
    ReactionError (with its status and, rate-limited, its retry_after) when refused."""
    wanted = reactions.check_kind(kind)
    # The hot path stays on the event loop: a worker-thread hop only on a cache miss.
    ref = reactions.cached_ref(slug, seq) or await _moment_ref(slug, seq)
    if ref.room_id is not None:
        refused = await may_read(ref.room_id, user_id, chat)
        if refused is not None:
            raise ReactionError(BANNED if refused.code == "banned" else refused.message,
                                status=refused.status)  # fmt: skip
    keys, args = reactions.react_call(ref, user_id, wanted)
    script = reactions.react_script(redis)
    for _ in range(2):
        moment = reactions.react_answer(ref, wanted, await script(keys=keys, args=args))
        if moment is not None:
            return moment
        await _build(ref.match_id)
    raise ReactionError(REBUILDING, status=503)
