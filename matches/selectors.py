"""Read-side queries for the match domain (views and consumers call these)."""

from django.db.models import Prefetch, QuerySet

from matches.models import Competition, Match, MatchEvent, Player, Team


def competition_list() -> QuerySet[Competition]:
    return Competition.objects.prefetch_related("stages")


def team_list() -> QuerySet[Team]:
    return Team.objects.all()


def team_players(team: Team) -> QuerySet[Player]:
    return Player.objects.filter(team=team).order_by("number", "name")


def match_list() -> QuerySet[Match]:
    return Match.objects.select_related("competition", "stage", "home", "away")


def match_timeline() -> QuerySet[MatchEvent]:
    return MatchEvent.objects.select_related(
        "team", "player", "related_player", "supersedes", "superseded_by"
    ).order_by("seq")


def match_detail_list() -> QuerySet[Match]:
    return match_list().prefetch_related(Prefetch("events", queryset=match_timeline()))


def match_live_snapshot(slug: str) -> tuple[int, str] | None:
    """(seq, snapshot frame text) from Redis, rebuilt from the database when Redis lost it,
    and built from the database alone (nothing stored) while Redis is unreachable."""
    import redis

    from realtime import channels, publish  # realtime builds on matches: imported late

    try:
        seq, text = publish.client().hmget(channels.snapshot_key(slug), ["seq", "text"])
    except (redis.ConnectionError, redis.TimeoutError):
        return publish.match_snapshot_by_slug(slug)
    if text is not None:
        return int(seq), text.decode()
    return publish.match_rebuild_by_slug(slug)


def match_share_locked(match_id: int) -> Match:
    """Read the match holding its row FOR SHARE until the transaction ends. Many readers may
    hold it at once; a service changing the match (FOR UPDATE) waits for them, and they wait
    for it. Call inside a transaction."""
    return Match.objects.raw("SELECT * FROM matches_match WHERE id = %s FOR SHARE", [match_id])[0]
