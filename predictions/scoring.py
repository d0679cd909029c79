"""Scoring: a match's result as the rules see it, and the points each prediction earns.

Points are computed by PostgreSQL in the settlement statement (`points_sql`), so a chunk of
tens of thousands of predictions is scored without a row crossing into Python; `points_for`
is the same rule in Python, for single predictions and for checking the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from matches import rules as match_rules
from matches.models import VOID_STATUSES, EventKind, Match
from predictions.models import Band, Kind, Outcome, Prediction, ScoringRules


@dataclass(frozen=True)
class Result:
    void: bool
    home: int = 0
    away: int = 0
    outcome: str = Outcome.DRAW
    first_scorer_id: int | None = None  # None: no goal (own goals do not count)
    band: int | None = None  # None: possession unknown, possession predictions earn nothing


def rules_for(match: Match) -> ScoringRules:
    rules = ScoringRules.objects.filter(competition_id=match.competition_id).first()
    return rules or ScoringRules(competition_id=match.competition_id)


def possession_band(home_possession: int | None) -> int | None:
    if home_possession is None:
        return None
    if home_possession < 40:
        return Band.UNDER_40
    if home_possession < 50:
        return Band.FROM_40
    if home_possession < 60:
        return Band.FROM_50
    return Band.FROM_60


def match_result(match: Match, rules: ScoringRules) -> Result:
    """The result predictions are scored against, from the events that still count."""
    if match.status in VOID_STATUSES:
        return Result(void=True)
    goals = match_rules.goals_that_count(list(match.events.order_by("seq")))
    if not rules.extra_time_counts:
        goals = [g for g in goals if g.period <= 2]
    ordered = sorted(goals, key=lambda g: (g.period, g.minute or 0, g.stoppage, g.seq))
    home, away = match_rules.per_side(match, ordered)
    scorers = [g.player_id for g in ordered if g.kind != EventKind.OWN_GOAL and g.player_id]
    return Result(
        void=False,
        home=home,
        away=away,
        outcome=_outcome(match, rules, home, away),
        first_scorer_id=scorers[0] if scorers else None,
        band=possession_band(match.home_possession),
    )


def _outcome(match: Match, rules: ScoringRules, home: int, away: int) -> str:
    if home != away:
        return Outcome.HOME if home > away else Outcome.AWAY
    pens = (match.home_pens, match.away_pens)
    if rules.penalties_decide_winner and None not in pens and pens[0] != pens[1]:
        return Outcome.HOME if pens[0] > pens[1] else Outcome.AWAY  # type: ignore[operator]
    return Outcome.DRAW


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


def points_for(prediction: Prediction, result: Result, rules: ScoringRules) -> int:
    if result.void:
        return 0
    if prediction.kind == Kind.SCORE:
        h, a = prediction.home_goals or 0, prediction.away_goals or 0
        if (h, a) == (result.home, result.away):
            return rules.exact_score
        if h - a == result.home - result.away:
            return rules.goal_difference
        if _sign(h - a) == _sign(result.home - result.away):
            return rules.score_outcome
        return 0
    if prediction.kind == Kind.WINNER:
        return rules.winner if prediction.outcome == result.outcome else 0
    if prediction.kind == Kind.FIRST_SCORER:
        if result.first_scorer_id is None:
            return rules.first_scorer if prediction.no_goal else 0
        return rules.first_scorer if prediction.player_id == result.first_scorer_id else 0
    if prediction.kind == Kind.POSSESSION:
        hit = result.band is not None and prediction.band == result.band
        return rules.possession if hit else 0
    return 0


def points_sql(result: Result, rules: ScoringRules, alias: str = "p") -> tuple[str, list]:
    """The same rules as `points_for`, as a SQL expression over prediction columns."""
    if result.void:
        return "0", []
    diff = result.home - result.away
    sign = _sign(diff)
    scorer_hit = f"{alias}.no_goal" if result.first_scorer_id is None else f"{alias}.player_id = %s"
    sql = f"""CASE {alias}.kind
      WHEN 'score' THEN CASE
        WHEN {alias}.home_goals = %s AND {alias}.away_goals = %s THEN %s
        WHEN {alias}.home_goals - {alias}.away_goals = %s THEN %s
        WHEN sign({alias}.home_goals - {alias}.away_goals) = %s THEN %s
        ELSE 0 END
      WHEN 'winner' THEN CASE WHEN {alias}.outcome = %s THEN %s ELSE 0 END
      WHEN 'first_scorer' THEN CASE WHEN {scorer_hit} THEN %s ELSE 0 END
      WHEN 'possession' THEN CASE WHEN {alias}.band = %s THEN %s ELSE 0 END
      ELSE 0 END"""
    params: list = [result.home, result.away, rules.exact_score, diff, rules.goal_difference]
    params += [sign, rules.score_outcome, result.outcome, rules.winner]
    if result.first_scorer_id is not None:
        params.append(result.first_scorer_id)
    params += [rules.first_scorer, result.band if result.band is not None else -1]
    params.append(rules.possession)
    return sql, params
