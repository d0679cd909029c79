"""Read-side queries for predictions and leaderboards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, QuerySet

from core.caches import TTLCache
from matches.models import Match
from predictions import leaderboard, provisional, scoring
from predictions.models import Joker, Kind, League, LeagueMember, Outright, Prediction, ScoringRules
from predictions.tasks import leaderboard_rebuild_task

COUNTS_SECONDS = 5  # prediction counters may lag this much; they are read on every open


def prediction_counts(match: Match) -> dict[str, Any]:
    """How many fans picked each option, per kind (cached briefly: a hot read)."""
    key = f"pred-counts:{match.pk}"
    if (cached := cache.get(key)) is not None:
        return cached
    rows = Prediction.objects.filter(match=match)
    winner = dict(rows.filter(kind=Kind.WINNER).values_list("outcome").annotate(n=Count("id")))
    band = dict(rows.filter(kind=Kind.POSSESSION).values_list("band").annotate(n=Count("id")))
    scores = (
        rows.filter(kind=Kind.SCORE)
        .values_list("home_goals", "away_goals")
        .annotate(n=Count("id"))
        .order_by("-n")[:10]
    )
    scorers = (
        rows.filter(kind=Kind.FIRST_SCORER)
        .values_list("player_id", "player__name")
        .annotate(n=Count("id"))
        .order_by("-n")[:10]
    )
    counts = {
        "winner": {k: winner.get(k, 0) for k in ("H", "D", "A")},
        "score": [[h, a, n] for h, a, n in scores],
        "first_scorer": [[pid, name or "no goal", n] for pid, name, n in scorers],
        "possession": {str(b): band.get(b, 0) for b in (1, 2, 3, 4)},
        "total": rows.values("user_id").distinct().count(),
    }
    cache.set(key, counts, COUNTS_SECONDS)
    return counts


def match_rules(match: Match) -> ScoringRules:
    """The rules a match is scored by, its stage's multiplier as `multiplier`."""
    rules = scoring.rules_for(match)
    rules.multiplier = rules.multiplier_for(match.stage.slug)  # type: ignore[attr-defined]
    return rules


def own_predictions(user: Any) -> QuerySet[Prediction]:
    rows = Prediction.objects.filter(user=user).select_related("match__home", "match__away")
    return rows.order_by("-updated_at")


def own_outrights(user: Any) -> QuerySet[Outright]:
    picks = Outright.objects.filter(user=user).select_related("competition", "team")
    return picks.order_by("competition_id", "kind")


def own_jokers(user: Any) -> QuerySet[Joker]:
    return Joker.objects.filter(user=user).select_related("match", "stage").order_by("stage_id")


def match_predictions(match: Match) -> QuerySet[Prediction]:
    rows = Prediction.objects.filter(match=match)
    return rows.select_related("user", "match__home", "match__away").order_by("id")


NAME_SECONDS = 60.0  # display names on boards may lag a rename by this much
_names: TTLCache[int, str] = TTLCache(NAME_SECONDS, max_entries=200_000)


def _display_names(ids: set[int]) -> dict[int, str]:
    """Usernames, cached in the process: the same top 100 are named on every board read."""
    found: dict[int, str] = {}
    for user_id in ids:
        hit, name = _names.get(user_id)
        if hit and name is not None:
            found[user_id] = name
    missing = ids - found.keys()
    if missing:
        rows = get_user_model().objects.filter(pk__in=missing).values_list("pk", "username")
        for pk, name in rows:
            _names.set(pk, name)
            found[pk] = name
    return found


# Pages anyone may read (no fan's own entry), kept per process while the boards'
# generation stays the one they were read at: a hot top 100 costs one Redis GET.
_pages: TTLCache[tuple[str, int, bool], tuple[bytes, dict[str, Any]]] = TTLCache(
    60.0, max_entries=1000
)


def board(
    scope: str,
    *,
    n: int,
    user_id: int | None,
    settled: bool = False,
    members: Callable[[], list[int]] | None = None,
) -> dict[str, Any]:
    """`board_read`, for anonymous reads served from this process while no board changed."""
    if user_id is not None or members is not None:
        return board_read(scope, n=n, user_id=user_id, settled=settled, members=members)
    key, generation = (scope, n, settled), leaderboard.generation()
    if not generation:  # no board written since Redis started: nothing to compare with
        return board_read(scope, n=n, user_id=None, settled=settled)
    hit, page = _pages.get(key)
    if hit and page is not None and page[0] == generation:
        return page[1]
    data = board_read(scope, n=n, user_id=None, settled=settled)
    _pages.set(key, (generation, data))
    return data


def board_read(
    scope: str,
    *,
    n: int,
    user_id: int | None,
    settled: bool = False,
    members: Callable[[], list[int]] | None = None,
) -> dict[str, Any]:
    """Top n, the fan's own entry and the entries around it: provisional while a match
    counts provisionally (unless `settled`), else settled. `members`: a league's, whose
    provisional board is ranked from their provisional totals. Raises BoardsRebuilding (503)
    while lost settled boards are rebuilt: an empty board would be a wrong answer."""
    found = None if settled else provisional.view(scope, n, user_id, members)
    try:
        top, size, mine, around = found or leaderboard.view(scope, n, user_id)
    except leaderboard.BoardsLost:
        if leaderboard.claim_rebuild():
            leaderboard_rebuild_task.delay()
        raise leaderboard.BoardsRebuilding() from None
    names = _display_names({e.user_id for e in (*top, *around)})

    def entry(e: leaderboard.Entry) -> dict[str, Any]:
        return {
            "rank": e.rank,
            "user_id": e.user_id,
            "name": names.get(e.user_id, ""),
            "points": e.points,
            "exacts": e.exacts,
        }

    return {
        "scope": scope,
        "provisional": found is not None,
        "size": size,
        "top": [entry(e) for e in top],
        "me": entry(mine) if mine else None,
        "around": [entry(e) for e in around],
    }


def league_members(league: League) -> list[LeagueMember]:
    """Every member (a league has at most MAX_LEAGUE_MEMBERS), by username."""
    rows = LeagueMember.objects.filter(league=league).select_related("user", "league")
    return list(rows.order_by("user__username"))
