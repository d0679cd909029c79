"""Redis by role: which server carries which channel (docs/scaling.md)."""

from core.redis import live_shard
from realtime.channels import redis_url_of

SHARDS = [f"redis://127.0.0.1:{port}/0" for port in (7001, 7002, 7003)]


def test_a_match_channel_lives_on_one_stable_shard_and_the_rest_on_redis_url(settings):
    settings.REDIS_URL = "redis://127.0.0.1:7000/0"
    settings.REDIS_LIVE_URLS = SHARDS
    slugs = [f"team{n}-vs-other-2026-06-{n % 28 + 1:02d}" for n in range(300)]

    # Stable (CRC32, not Python's per-process hash) and spread over every shard.
    assert [live_shard(s) for s in slugs[:3]] == [live_shard(s) for s in slugs[:3]]
    counts = [sum(live_shard(s) == n for s in slugs) for n in range(3)]
    assert min(counts) > 60
    slug = slugs[0]
    assert redis_url_of(f"match:{slug}") == SHARDS[live_shard(slug)]
    for other in ("user:7", "leaderboard:global", "chat:room:3", "chat:room:3:s0", "trending"):
        assert redis_url_of(other) == settings.REDIS_URL


def test_one_server_for_everything_by_default(settings):
    settings.REDIS_LIVE_URLS = [settings.REDIS_URL]
    assert redis_url_of("match:arg-vs-fra-2022-12-18") == settings.REDIS_URL
