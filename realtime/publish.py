"""The one module that writes live state to Redis and publishes frames.

After a match change commits, `match_changed` stores the new frames in the match's bounded
timeline, replaces the snapshot unless a newer one is already there, maintains the index of
live matches and publishes each frame once on the channel's Redis pub/sub channel. Every
gateway process holds one subscription per channel and writes the frame text, unchanged, to
its own sockets. All of it is derived from PostgreSQL: `rebuild_live_state` recreates it.
"""

from __future__ import annotations

import logging
from functools import cache

import redis
from django.conf import settings

from matches.models import Match, MatchEvent
from realtime import channels, events
from realtime.events import Frame, MatchState
from realtime.protocol import TIMELINE_LENGTH

logger = logging.getLogger("livescore.realtime")

# KEYS: snapshot hash, timeline zset, live index
# ARGV: slug, snapshot seq, snapshot text, live (1/0), kickoff epoch, timeline length,
#       then (seq, frame text, pubsub channel) for each frame
_STORE_AND_PUBLISH = """
local current = tonumber(redis.call('HGET', KEYS[1], 'seq') or '-1')
local seq = tonumber(ARGV[2])
if seq >= current then
  redis.call('HSET', KEYS[1], 'seq', seq, 'text', ARGV[3])
end
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
else
  redis.call('ZREM', KEYS[3], ARGV[1])
end
for i = 7, #ARGV, 3 do
  local frame_seq = tonumber(ARGV[i])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], frame_seq, frame_seq)
  redis.call('ZADD', KEYS[2], frame_seq, ARGV[i + 1])
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[6]) + 1))
for i = 7, #ARGV, 3 do
  redis.call('PUBLISH', ARGV[i + 2], ARGV[i + 1])
end
return seq >= current and 1 or 0
"""


@cache
def client() -> redis.Redis:
    # Short timeouts: a paused or unreachable Redis must turn into a 503 or a fallback to
    # PostgreSQL within a second or two, not hold a request thread.
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1, health_check_interval=30
    )


@cache
def _script() -> redis.commands.core.Script:
    return client().register_script(_STORE_AND_PUBLISH)


def replay_states(match: Match, timeline: list[MatchEvent]) -> list[MatchState]:
    """The match state right after each event, walking the timeline from the start (the same
    counting rules as the services, applied in order)."""
    score = {match.home_id: 0, match.away_id: 0}
    pens: dict[int, int] | None = None
    by_pk = {e.pk: e for e in timeline}
    status, minute, states = "scheduled", None, []
    for event in timeline:
        cancelled = by_pk.get(event.supersedes_id) if event.supersedes_id else None
        if cancelled is not None and cancelled.kind in events.GOAL_KINDS:
            score[cancelled.team_id] -= 1
        if event.kind in events.GOAL_KINDS:
            score[event.team_id] += 1
        if event.kind == events.K.SHOOTOUT_KICK and event.scored:
            pens = pens or {match.home_id: 0, match.away_id: 0}
            pens[event.team_id] += 1
        if event.status:
            status = event.status
            if status == "penalties":
                pens = pens or {match.home_id: 0, match.away_id: 0}
        if event.minute is not None and event.minute >= (minute or 0):
            minute = event.minute
        states.append(
            MatchState(
                home=match.home.code,
                away=match.away.code,
                score=(score[match.home_id], score[match.away_id]),
                pens=(pens[match.home_id], pens[match.away_id]) if pens else None,
                status=status,
                minute=minute,
            )
        )
    return states


# Period changes are in the snapshot's status, possession in its `pos`; its event list keeps
# the incidents.
_QUIET_KINDS = frozenset(
    {
        events.K.KICKOFF,
        events.K.PERIOD_START,
        events.K.PERIOD_END,
        events.K.STATUS,
        events.K.POSSESSION,
    }
)


def _timeline(match: Match) -> list[MatchEvent]:
    return list(
        match.events.select_related("team", "player", "related_player", "supersedes").order_by(
            "seq"
        )
    )


def build_snapshot(match: Match, timeline: list[MatchEvent] | None = None) -> str:
    """The snapshot frame text of a match, from the database."""
    timeline = _timeline(match) if timeline is None else timeline
    states = replay_states(match, timeline)
    keyed = [(e, s) for e, s in zip(timeline, states, strict=True) if e.kind not in _QUIET_KINDS]
    recent = keyed[-events.SNAPSHOT_EVENTS :]
    data = events.snapshot_data(match, [e for e, _ in recent], [s for _, s in recent])
    return events.snapshot_frame(match.slug, match.seq, data)


def _store(match: Match, snapshot: str, frames: list[Frame]) -> None:
    store_and_publish(
        slug=match.slug,
        seq=match.seq,
        snapshot=snapshot,
        frames=frames,
        live=match.is_live,
        kickoff=int(match.kickoff.timestamp()),
    )


def store_and_publish(
    *, slug: str, seq: int, snapshot: str, frames: list[Frame], live: bool, kickoff: int
) -> None:
    """One atomic step: timeline, snapshot (unless a newer one is stored), live index, and
    one PUBLISH per frame."""
    args: list[object] = [slug, seq, snapshot, int(live), kickoff, TIMELINE_LENGTH]
    for frame in frames:
        args += [frame.seq, frame.text, f"rt:{frame.channel}"]
    keys = [channels.snapshot_key(slug), channels.timeline_key(slug), channels.LIVE_INDEX_KEY]
    _script()(keys=keys, args=args)


def match_changed(match_id: int, frames: list[Frame]) -> None:
    """After-commit hook: store and publish a match's new frames with a fresh snapshot.

    Redis being down must not fail the request or task that already committed the change:
    the error is logged, and `rebuild_live_state` (or the next change) repairs the state.
    """
    try:
        match = Match.objects.select_related("home", "away").get(pk=match_id)
        _store(match, build_snapshot(match), frames)
    except redis.RedisError:
        logger.exception("live state not published match=%s frames=%s", match_id, len(frames))


def match_rebuild(match: Match) -> str:
    """Recreate a match's snapshot and timeline from the database; returns the snapshot."""
    timeline = _timeline(match)
    states = replay_states(match, timeline)
    frames = [events.event_frame(match.slug, e, s) for e, s in zip(timeline, states, strict=True)][
        -TIMELINE_LENGTH:
    ]
    snapshot = build_snapshot(match, timeline)
    _replace_quietly(match, snapshot, frames)
    return snapshot


def match_rebuild_by_slug(slug: str) -> tuple[int, str] | None:
    """(seq, snapshot) of a match rebuilt from the database, for reads that found no live
    state in Redis (flushed, or never published); None when there is no such match."""
    match = Match.objects.select_related("home", "away").filter(slug=slug).first()
    if match is None:
        return None
    return match.seq, match_rebuild(match)


def match_snapshot_by_slug(slug: str) -> tuple[int, str] | None:
    """(seq, snapshot) built from the database without touching Redis (it is unreachable)."""
    match = Match.objects.select_related("home", "away").filter(slug=slug).first()
    if match is None:
        return None
    return match.seq, build_snapshot(match)


def _replace_quietly(match: Match, snapshot: str, frames: list[Frame]) -> None:
    """Replace the stored state in one MULTI, without publishing: a rebuild must not
    re-announce old events."""
    pipe = client().pipeline(transaction=True)
    pipe.delete(channels.timeline_key(match.slug), channels.snapshot_key(match.slug))
    pipe.hset(channels.snapshot_key(match.slug), mapping={"seq": match.seq, "text": snapshot})
    if frames:
        pipe.zadd(channels.timeline_key(match.slug), {f.text: f.seq for f in frames})
    if match.is_live:
        pipe.zadd(channels.LIVE_INDEX_KEY, {match.slug: int(match.kickoff.timestamp())})
    else:
        pipe.zrem(channels.LIVE_INDEX_KEY, match.slug)
    pipe.execute()


def match_reset(slug: str) -> None:
    """Forget a slug's live state and tell gateways its seq starts over (a re-created match)."""
    channel = channels.match_channel(slug)
    try:
        pipe = client().pipeline(transaction=True)
        pipe.delete(channels.snapshot_key(slug), channels.timeline_key(slug))
        pipe.zrem(channels.LIVE_INDEX_KEY, slug)
        pipe.publish(f"rt:{channel}", events.reset_frame(channel))
        pipe.execute()
    except redis.RedisError:
        logger.exception("live state not reset match=%s", slug)


def publish_frame(channel: str, text: str) -> None:
    """Publish a frame on a channel without a timeline (user, leaderboard, prediction)."""
    client().publish(f"rt:{channel}", text)
