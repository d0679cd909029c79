"""The hot side of chat, in Redis: accepting a message, room shards, recent history, and the
frames every shard of a room must see. All of it is derived from PostgreSQL and rebuilt
from there when lost (`rebuild`); the `chat:built` marker tells the two apart.

Accepting a message is one Lua script (`_SAY`), so the checks and the writes are atomic and
cost one round trip: client message id (a retry is acknowledged again, not posted twice),
sanctions, slow mode (operator's or automatic), the fan's token bucket, the room's rate,
duplicates, then the id, the recent list, the publish to the author's shard, and the
pending list the persistence task drains into PostgreSQL in batches (chat/tasks.py).

Both the REST view (sync client) and the gateway (asyncio client) run the same scripts.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from chat.frames import history_frame
from core.redis import client
from realtime.channels import chat_channel, chat_shard_prefix
from realtime.publish import WireScript

BUILT_KEY = "chat:built"
PENDING_KEY = "chat:pending"  # accepted messages not yet in PostgreSQL (JSON records)
AUDIT_KEY = "chat:audit"  # filter refusals not yet in PostgreSQL
AUTOSLOW_ROOMS_KEY = "chat:autoslow"  # rooms in automatic slow mode
HISTORY_LENGTH = 50  # recent messages a subscriber gets
SHADOW_TTL_SECONDS = 3600
CID_TTL_SECONDS = 86400
SHARDS_TTL_SECONDS = 6 * 3600


def recent_key(room_id: int) -> str:
    return f"chat:r:{room_id}:recent"


def rate_key(room_id: int, second: int) -> str:
    """Messages accepted in a room during one unix second (written by the `say` script)."""
    return f"chat:r:{room_id}:n:{second}"


def recent_rates(client: redis.Redis, room_ids: list[int | None], seconds: int = 4) -> list[float]:
    """Messages per second accepted in each room over the last `seconds` whole seconds
    (0 for None: a match without a room)."""
    now = int(time.time())
    window = range(now - seconds, now)
    pipe = client.pipeline(transaction=False)
    for room_id in room_ids:
        if room_id is not None:
            pipe.mget([rate_key(room_id, s) for s in window])
    counts = iter(pipe.execute())
    return [
        0.0 if room_id is None else sum(int(c or 0) for c in next(counts)) / seconds
        for room_id in room_ids
    ]


def shadow_key(room_id: int, user_id: int) -> str:
    return f"chat:r:{room_id}:sh:{user_id}"


def slow_key(room_id: int) -> str:
    return f"chat:r:{room_id}:slow"


def auto_key(room_id: int) -> str:
    return f"chat:r:{room_id}:auto"


def shards_key(room_id: int) -> str:
    return f"chat:r:{room_id}:shards"


def sanction_key(room_id: int | None, user_id: int) -> str:
    return f"chat:sx:{room_id or '*'}:{user_id}"


# KEYS: shards hash. ARGV: shard pubsub prefix, frame text, frame type, user it concerns.
# Publishes a room-wide frame on every shard.
_FANOUT = """
local n = redis.call('HLEN', KEYS[1])
if n == 0 then n = 1 end
for i = 0, n - 1 do
  emit(ARGV[1] .. i, ARGV[3], 0, ARGV[4], ARGV[2])
end
return n
"""

# KEYS: shards hash, operator slow key, auto slow key. ARGV: shard pubsub prefix, the room's
# channel name. Publishes the room's slow mode as it stands now (`room`, chat/frames.py's
# RoomState) on every shard.
_ANNOUNCE = """
local op = tonumber(redis.call('GET', KEYS[2]) or '0')
local auto = tonumber(redis.call('GET', KEYS[3]) or '0')
local frame = '{"ch":"' .. ARGV[2] .. '","t":"room","d":{"slow":' ..
  math.max(op, auto) .. (auto > op and ',"auto":1' or '') .. '}}'
local n = redis.call('HLEN', KEYS[1])
if n == 0 then n = 1 end
for i = 0, n - 1 do
  emit(ARGV[1] .. i, 'room', 0, 0, frame)
end
return n
"""

# KEYS: shards hash. ARGV: shard size. The first shard with room for one more listener.
_JOIN = """
local n = redis.call('HLEN', KEYS[1])
local pick = n
for i = 0, n - 1 do
  if tonumber(redis.call('HGET', KEYS[1], i) or '0') < tonumber(ARGV[1]) then
    pick = i
    break
  end
end
redis.call('HINCRBY', KEYS[1], pick, 1)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return pick
"""

_LEAVE = """
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
end
return 0
"""

# ARGV: 1 room, 2 user id, 3 cid, 4 text hash, 5 cid as JSON, 6 name as JSON, 7 text as JSON,
# 8 author's shard (-1: none), 9 per-minute refill, 10 burst, 11 room per second,
# 12 auto-slow rate, 13 auto-slow seconds, 14 auto-slow hold, 15 duplicate seconds,
# 16 room duplicates, 17 history length, 18 shadow ttl, 19 cid ttl, 20 shard pubsub prefix
# The accepted item (chat/frames.py's Item) is published to the author's shard as type "m".
_SAY = """
if redis.call('EXISTS', 'chat:built') == 0 then return {'rebuild'} end
local room, uid = ARGV[1], ARGV[2]
local p = 'chat:r:' .. room .. ':'
local cidkey = 'chat:cid:' .. uid .. ':' .. ARGV[3]
local seen = redis.call('GET', cidkey)
if seen then
  local sep = string.find(seen, ':')
  return {'again', string.sub(seen, 1, sep - 1), string.sub(seen, sep + 1)}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- sanctions: a ban or mute refuses; a shadow-mute accepts and shows the author only
local shadow = false
for _, scope in ipairs({room, '*'}) do
  local s = redis.call('GET', 'chat:sx:' .. scope .. ':' .. uid)
  if s then
    local sep = string.find(s, ':')
    local kind, untl = string.sub(s, 1, sep - 1), tonumber(string.sub(s, sep + 1))
    if kind == 'shadow' then shadow = true else return {kind, untl} end
  end
end
-- slow mode: the larger of the operator's and the automatic one
local slow = math.max(tonumber(redis.call('GET', p .. 'slow') or '0'),
                      tonumber(redis.call('GET', p .. 'auto') or '0'))
local lastkey = p .. 'last:' .. uid
if slow > 0 then
  local left = redis.call('PTTL', lastkey)
  if left > 0 then return {'slow_mode', left, slow} end
end
-- duplicates: this fan's same text, or the same text pasted by many fans
local dupkey = 'chat:dup:' .. uid .. ':' .. ARGV[4]
if redis.call('EXISTS', dupkey) == 1 then return {'duplicate', 0} end
local roomdup = p .. 'dup:' .. ARGV[4]
if tonumber(redis.call('GET', roomdup) or '0') >= tonumber(ARGV[16]) then
  return {'duplicate', 1}
end
-- the fan's token bucket
local bucket = 'chat:tb:' .. uid
local b = redis.call('HMGET', bucket, 'tokens', 'at')
local burst, refill = tonumber(ARGV[10]), tonumber(ARGV[9]) / 60000
local tokens = math.min(burst, tonumber(b[1] or ARGV[10]) + (now - tonumber(b[2] or now)) * refill)
if tokens < 1 then return {'rate_limited', math.ceil((1 - tokens) / refill)} end
-- the room's rate, per second; a flood switches on automatic slow mode
local ratekey = p .. 'n:' .. math.floor(now / 1000)
local count = redis.call('INCR', ratekey)
if count == 1 then redis.call('EXPIRE', ratekey, 5) end
if count > tonumber(ARGV[11]) then return {'room_busy', 1000 - now % 1000} end
local newslow = false
if count > tonumber(ARGV[12]) then
  if redis.call('EXISTS', p .. 'auto') == 0 then newslow = true end
  redis.call('SET', p .. 'auto', ARGV[13], 'EX', ARGV[14])
  redis.call('SADD', 'chat:autoslow', room)
end
-- accepted
redis.call('HSET', bucket, 'tokens', tokens - 1, 'at', now)
redis.call('EXPIRE', bucket, 3600)
redis.call('SET', dupkey, 1, 'EX', ARGV[15])
redis.call('INCR', roomdup)
redis.call('EXPIRE', roomdup, 10)
if slow > 0 then redis.call('SET', lastkey, 1, 'PX', slow * 1000) end
-- ids pass 2^47: Lua's tostring would print them with 14 digits, so they are formatted
local last = tonumber(redis.call('GET', 'chat:lastid') or '0')
local id = string.format('%.0f', math.max(last + 1, now * 1024))
local ts = string.format('%.0f', now)
redis.call('SET', 'chat:lastid', id)
redis.call('SET', cidkey, id .. ':' .. ts, 'EX', ARGV[19])
local item = '{"id":' .. id .. ',"u":' .. uid .. ',"n":' .. ARGV[6] .. ',"x":' .. ARGV[7] ..
  ',"ts":' .. ts .. '}'
if shadow then
  redis.call('ZADD', p .. 'sh:' .. uid, id, item)
  redis.call('EXPIRE', p .. 'sh:' .. uid, ARGV[18])
else
  redis.call('ZADD', p .. 'recent', id, item)
  redis.call('ZREMRANGEBYRANK', p .. 'recent', 0, -(tonumber(ARGV[17]) + 1))
  local shards = redis.call('HLEN', p .. 'shards')
  local shard = tonumber(ARGV[8])
  if shard < 0 or shard >= shards then shard = shards > 0 and (now % shards) or 0 end
  emit(ARGV[20] .. shard, 'm', 0, uid, item)
end
redis.call('RPUSH', 'chat:pending', '{"r":' .. room .. ',"c":' .. ARGV[5] .. ',"sh":' ..
  (shadow and 1 or 0) .. ',"m":' .. item .. '}')
return {'ok', id, ts, newslow and 1 or 0, slow}
"""


@dataclass(frozen=True)
class Said:
    """What the say script answered: `status` "ok" (posted), "again" (a repeated cid:
    acknowledged again, not posted), or a refusal code; `wait_ms` for the time-based ones."""

    status: str
    id: int = 0
    ts: int = 0
    wait_ms: int = 0
    until_ms: int = 0
    auto_slow_on: bool = False

    @property
    def accepted(self) -> bool:
        return self.status in ("ok", "again")


def said_from(reply: list[Any]) -> Said:
    status = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
    if status in ("ok", "again"):
        on = len(reply) > 3 and bool(reply[3])
        return Said(status, id=int(reply[1]), ts=int(reply[2]), auto_slow_on=on)
    if status in ("mute", "ban"):
        return Said("muted" if status == "mute" else "banned", until_ms=int(reply[1]))
    if status in ("slow_mode", "rate_limited", "room_busy"):
        return Said(status, wait_ms=int(reply[1]))
    return Said(status)


def say_args(
    *, room_id: int, user_id: int, cid: str, text: str, text_hash: str, name: str, shard: int
) -> list[Any]:
    s = settings
    return [
        room_id,
        user_id,
        cid,
        text_hash,
        json.dumps(cid, ensure_ascii=False),
        json.dumps(name, ensure_ascii=False),
        json.dumps(text, ensure_ascii=False),
        shard,
        s.CHAT_USER_PER_MINUTE,
        s.CHAT_USER_BURST,
        s.CHAT_ROOM_PER_SECOND,
        s.CHAT_AUTO_SLOW_RATE,
        s.CHAT_AUTO_SLOW_SECONDS,
        s.CHAT_AUTO_SLOW_HOLD,
        s.CHAT_DUPLICATE_SECONDS,
        s.CHAT_ROOM_DUPLICATES,
        HISTORY_LENGTH,
        SHADOW_TTL_SECONDS,
        CID_TTL_SECONDS,
        chat_shard_prefix(room_id),
    ]


class Scripts:
    """The Lua scripts registered on one client (sync or asyncio): EVALSHA, with the script
    loaded again by redis-py after a Redis restart."""

    def __init__(self, client: redis.Redis | aioredis.Redis) -> None:
        self.client = client
        # the scripts that publish, through realtime's envelope and sink
        self.say = WireScript(client, _SAY)
        self.fanout = WireScript(client, _FANOUT)
        self.announce = WireScript(client, _ANNOUNCE)
        self.join = client.register_script(_JOIN)
        self.leave = client.register_script(_LEAVE)


_sync: Scripts | None = None


def sync_scripts() -> Scripts:
    """The scripts on this process's sync client (REST views, tasks): registered once."""
    global _sync
    if _sync is None:
        _sync = Scripts(client())
    return _sync


# ---- frames every shard of a room gets ------------------------------------------------------


def fanout(scripts: Scripts, room_id: int, text: str, t: str, user_id: int = 0) -> Any:
    """Publish a room-wide frame (chat/frames.py) on every shard of the room (awaitable on an
    asyncio client)."""
    args = [chat_shard_prefix(room_id), text, t, user_id]
    return scripts.fanout(keys=[shards_key(room_id)], args=args)


def announce_slow_mode(scripts: Scripts, room_id: int) -> Any:
    """`room` on every shard: the room's slow mode now (0: off; `auto` when a flood switched
    it on). Awaitable on an asyncio client."""
    keys = [shards_key(room_id), slow_key(room_id), auto_key(room_id)]
    return scripts.announce(keys=keys, args=[chat_shard_prefix(room_id), chat_channel(room_id)])


# ---- the gateway's reads (asyncio) ----------------------------------------------------------


async def join_shard(scripts: Scripts, room_id: int) -> int:
    """The shard a new listener reads: the first with fewer than CHAT_SHARD_SIZE listeners."""
    args = [settings.CHAT_SHARD_SIZE, SHARDS_TTL_SECONDS]
    return int(await scripts.join(keys=[shards_key(room_id)], args=args))


async def leave_shard(scripts: Scripts, room_id: int, shard: int) -> None:
    await scripts.leave(keys=[shards_key(room_id)], args=[shard])


async def history_text(client: aioredis.Redis, room_id: int, user_id: int | None) -> str:
    """`hist`: the room's recent messages, oldest first (with this user's own shadow-muted
    ones), and its slow mode (`auto` when a flood switched it on), sent on `sub`."""
    pipe = client.pipeline(transaction=False)
    pipe.get(slow_key(room_id))
    pipe.get(auto_key(room_id))
    pipe.zrange(recent_key(room_id), 0, -1, withscores=True)
    if user_id:
        pipe.zrange(shadow_key(room_id, user_id), 0, -1, withscores=True)
    replies = await pipe.execute()
    rows = list(replies[2])
    if user_id and replies[3]:
        rows = sorted(rows + list(replies[3]), key=lambda row: row[1])[-HISTORY_LENGTH:]
    operator, auto = int(replies[0] or 0), int(replies[1] or 0)
    items = [member.decode() for member, _ in rows]
    return history_frame(room_id, items, max(operator, auto), auto > operator)


async def ban_state(client: aioredis.Redis, room_id: int, user_id: int) -> tuple[bool, int | None]:
    """(whether chat's hot state is built, the end in unix ms of a ban in the room or
    everywhere that shuts this user out (0: until lifted), else None), in one read. Not
    built means Redis lost the sanctions: the caller rebuilds before trusting None."""
    keys = (sanction_key(room_id, user_id), sanction_key(None, user_id), BUILT_KEY)
    *sanctions, built = await client.mget(*keys)
    for value in sanctions:
        if value:
            kind, _, until = (value.decode() if isinstance(value, bytes) else value).partition(":")
            if kind == "ban":
                return bool(built), int(until)
    return bool(built), None
