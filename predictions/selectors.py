"""Read-side queries for predictions and leaderboards."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, QuerySet

from matches.models import Match
from predictions import leaderboard
from predictions.models import Kind, Prediction

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


def own_predictions(user: Any) -> QuerySet[Prediction]:
    return Prediction.objects.filter(user=user).select_related("match").order_by("-updated_at")


def match_predictions(match: Match) -> QuerySet[Prediction]:
    return Prediction.objects.filter(match=match).select_related("user", "match").order_by("id")


def _named(entries: list[leaderboard.Entry]) -> list[dict[str, Any]]:
    ids = {e.user_id for e in entries}
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    return [
        {"rank": e.rank, "user_id": e.user_id, "name": names.get(e.user_id, ""), "points": e.points}
        for e in entries
    ]


def board(scope: str, *, n: int, user_id: int | None) -> dict[str, Any]:
    """Top n, the fan's own entry and the entries around it (names from the database)."""
    top = leaderboard.top(scope, n)
    mine, around = leaderboard.around(scope, user_id) if user_id else (None, [])
    named = _named(top + around)
    by_rank = {entry["rank"]: entry for entry in named}
    return {
        "scope": scope,
        "size": leaderboard.size(scope),
        "top": [by_rank[e.rank] for e in top],
        "me": by_rank[mine.rank] if mine else None,
        "around": [by_rank[e.rank] for e in around],
    }
