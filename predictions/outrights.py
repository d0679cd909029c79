"""Outright predictions for a whole tournament: the champion, the two finalists, the top
scorer (docs/scoring.md, "Outrights").

Locked at the tournament's first kick-off. Settled whenever a competition's result changes:
each pick is scored against what is decided so far (the final's teams and winner once the
final has finished; the top scorers once every match has), its points rewritten when they
change and the fan's total moved by exactly the difference, in one statement under the
competition's row lock, so any number of runs, in any order, leaves the same totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from core.users import User
from matches.bracket import winner_and_loser
from matches.models import (
    GOAL_KINDS,
    VOID_STATUSES,
    Competition,
    EventKind,
    Match,
    MatchEvent,
    MatchStatus,
    Player,
    Team,
)
from predictions import leaderboard
from predictions.models import LeagueMember, Outright, ScoringRules
from predictions.services import PredictionError

FINAL_STAGE = "final"
K = Outright.Kind


def outrights_locked(competition: Competition) -> bool:
    """Locked from the tournament's first kick-off (by the clock or by a match starting)."""
    matches = Match.objects.filter(competition=competition).exclude(status__in=VOID_STATUSES)
    started = matches.exclude(status__in=[MatchStatus.SCHEDULED, MatchStatus.POSTPONED])
    first = matches.order_by("kickoff").values_list("kickoff", flat=True).first()
    return started.exists() or (first is not None and first <= timezone.now())


def outright_set(
    *,
    user: User,
    competition: Competition,
    kind: str,
    teams: list[Team] | None = None,
    player: Player | None = None,
) -> list[Outright]:
    """Replace the fan's pick of `kind` (one team for the champion, two for the finalists, a
    player for the top scorer). Idempotent; 409 once the tournament has kicked off."""
    teams = teams or []
    counts: dict[str, int] = {K.CHAMPION: 1, K.FINALIST: 2}
    wanted = counts.get(kind, 0)
    if kind == K.TOP_SCORER and (player is None or teams):
        raise PredictionError("the top scorer is one player")
    if kind != K.TOP_SCORER and (len({t.pk for t in teams}) != wanted or player):
        raise PredictionError(f"{kind} needs {wanted} different team{'s' * (wanted > 1)}")
    playing = _teams_of(competition)
    if any(t.pk not in playing for t in teams) or (player and player.team_id not in playing):
        raise PredictionError("not in this tournament")
    with transaction.atomic():
        # The competition's row orders this against settlement (which takes it too).
        Competition.objects.select_for_update().get(pk=competition.pk)
        if outrights_locked(competition):
            raise PredictionError("outrights are locked: the tournament has kicked off", 409)
        Outright.objects.filter(user=user, competition=competition, kind=kind).delete()
        picks = [Outright(user=user, competition=competition, kind=kind, team=t) for t in teams]
        if player is not None:
            picks = [Outright(user=user, competition=competition, kind=kind, player=player)]
        return Outright.objects.bulk_create(picks)


def _teams_of(competition: Competition) -> set[int]:
    pairs = Match.objects.filter(competition=competition).values_list("home_id", "away_id")
    return {team for pair in pairs for team in pair}


# ---- what is decided ------------------------------------------------------------------------


@dataclass
class Decided:
    champion: int | None = None
    finalists: set[int] = field(default_factory=set)
    top_scorers: set[int] = field(default_factory=set)  # joint top scorers all count


def decided(competition: Competition) -> Decided:
    out = Decided()
    final = (
        Match.objects.filter(competition=competition, stage__slug=FINAL_STAGE)
        .exclude(status__in=VOID_STATUSES)
        .order_by("-kickoff")
        .first()
    )
    if final is not None and final.status == MatchStatus.FINISHED:
        out.finalists = {final.home_id, final.away_id}
        decided_by = winner_and_loser(final)  # None: a final left level (not yet decided)
        out.champion = decided_by[0] if decided_by else None
    matches = Match.objects.filter(competition=competition).exclude(status__in=VOID_STATUSES)
    over = matches.exists() and not matches.exclude(status=MatchStatus.FINISHED).exists()
    if over:
        out.top_scorers = _top_scorers(competition)
    return out


def _top_scorers(competition: Competition) -> set[int]:
    """The players with the most goals that count (own goals and shootouts excluded)."""
    goals = MatchEvent.objects.filter(
        match__competition=competition,
        kind__in=GOAL_KINDS - {EventKind.OWN_GOAL},
        superseded_by__isnull=True,
        player__isnull=False,
    ).exclude(match__status__in=VOID_STATUSES)
    # superseded_by: a disallowed or corrected goal no longer counts (matches/rules.py).
    rows = list(goals.values("player_id").annotate(n=Count("id")).order_by("-n"))
    best = rows[0]["n"] if rows else 0
    return {r["player_id"] for r in rows if r["n"] == best and best > 0}


# ---- settling -------------------------------------------------------------------------------

# Points of every pick at what is decided; only picks whose points change are rewritten, and
# each fan's total moves by the difference. Returns (fan, new total, exacts, version).
_SETTLE_SQL = """
WITH scored AS (
    SELECT o.id, o.user_id, o.points AS old_points,
        CASE o.kind
          WHEN 'champion' THEN CASE WHEN o.team_id = %(champion)s THEN %(p_champion)s ELSE 0 END
          WHEN 'finalist' THEN CASE WHEN o.team_id = ANY(%(finalists)s) THEN %(p_finalist)s
                                    ELSE 0 END
          WHEN 'top_scorer' THEN CASE WHEN o.player_id = ANY(%(scorers)s) THEN %(p_scorer)s
                                      ELSE 0 END
          ELSE 0 END AS new_points
    FROM predictions_outright o WHERE o.competition_id = %(competition)s
), updated AS (
    UPDATE predictions_outright o SET points = s.new_points, updated_at = now()
    FROM scored s WHERE o.id = s.id AND s.new_points <> s.old_points
    RETURNING o.user_id, s.new_points - s.old_points AS delta
), per_user AS (
    SELECT user_id, SUM(delta) AS delta FROM updated GROUP BY user_id
)
INSERT INTO predictions_userscore (user_id, points, exacts, version)
SELECT user_id, delta, 0, 1 FROM per_user ORDER BY user_id
ON CONFLICT (user_id) DO UPDATE
SET points = predictions_userscore.points + EXCLUDED.points,
    version = predictions_userscore.version + 1
RETURNING user_id, points, exacts, version
"""


def outrights_settle(competition_id: int) -> int:
    """Score every outright of the competition against what is decided now; returns the
    fans whose totals moved. Idempotent; the boards get the new totals after commit."""
    with transaction.atomic():
        competition = Competition.objects.select_for_update().get(pk=competition_id)
        rules = ScoringRules.objects.filter(competition=competition).first() or ScoringRules()
        now = decided(competition)
        with connection.cursor() as cursor:
            cursor.execute(
                _SETTLE_SQL,
                {
                    "competition": competition.pk,
                    "champion": now.champion or -1,
                    "finalists": sorted(now.finalists) or [-1],
                    "scorers": sorted(now.top_scorers) or [-1],
                    "p_champion": rules.outright_champion,
                    "p_finalist": rules.outright_finalist,
                    "p_scorer": rules.outright_top_scorer,
                },
            )
            totals = cursor.fetchall()
    if totals:
        leaderboard.write_many(_boards(totals))
    return len(totals)


def _boards(totals: list[tuple[int, int, int, int]]) -> dict[str, list[leaderboard.Row]]:
    boards: dict[str, list[leaderboard.Row]] = {leaderboard.GLOBAL: totals}
    by_user = {row[0]: row for row in totals}
    members = LeagueMember.objects.filter(user_id__in=by_user).values_list("league_id", "user_id")
    for league_id, user_id in members:
        boards.setdefault(leaderboard.league_scope(league_id), []).append(by_user[user_id])
    return boards
