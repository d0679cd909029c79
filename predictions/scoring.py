"""Scoring: a match's result as the rules see it, and the points each prediction earns.

Points are computed by PostgreSQL in the settlement statement (`points_sql`), so a chunk of
tens of thousands of predictions is scored without a row crossing into Python; `points_for`
is the same rule in Python, for provisional standings (once per distinct pick), single
predictions and checking the SQL. A prediction earns (its kind's points + the rarity bonus
when right) x the stage's multiplier x 2 when its fan played their joker on the match.
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
    multiplier: int = 1  # the stage's (ScoringRules.stage_multipliers)


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
        multiplier=rules.multiplier_for(match.stage.slug),
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


def hit(prediction: Prediction, result: Result) -> bool:
    """A right pick: the exact score, the winner, the first scorer (or no goal), the band.
    Right picks earn the rarity bonus."""
    if result.void:
        return False
    if prediction.kind == Kind.SCORE:
        return (prediction.home_goals, prediction.away_goals) == (result.home, result.away)
    if prediction.kind == Kind.WINNER:
        return prediction.outcome == result.outcome
    if prediction.kind == Kind.FIRST_SCORER:
        if result.first_scorer_id is None:
            return bool(prediction.no_goal)
        return prediction.player_id == result.first_scorer_id
    if prediction.kind == Kind.POSSESSION:
        return result.band is not None and prediction.band == result.band
    return False


def base_points(prediction: Prediction, result: Result, rules: ScoringRules) -> int:
    """Points by kind, before the bonus, the stage multiplier and a joker."""
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
    points: dict[str, int] = {
        Kind.WINNER: rules.winner,
        Kind.FIRST_SCORER: rules.first_scorer,
        Kind.POSSESSION: rules.possession,
    }
    return points.get(prediction.kind, 0) if hit(prediction, result) else 0


def points_for(
    prediction: Prediction,
    result: Result,
    rules: ScoringRules,
    *,
    bonus: dict[str, int] | None = None,
    joker: bool = False,
) -> int:
    """(kind points + rarity bonus if right) x stage multiplier x 2 with a joker."""
    points = base_points(prediction, result, rules)
    if bonus and hit(prediction, result):
        points += bonus.get(prediction.kind, 0)
    return points * result.multiplier * (2 if joker else 1)


def rarity_bonuses(counts: dict[str, tuple[int, int]], rules: ScoringRules) -> dict[str, int]:
    """Bonus per kind for a right pick, from (right picks, all picks) of the kind: the
    rule's maximum scaled by the share of fans who got it wrong, rounded down."""
    out = {}
    for kind, (right, total) in counts.items():
        if rules.rarity_bonus and right and total:
            out[kind] = rules.rarity_bonus * (total - right) // total
    return {k: v for k, v in out.items() if v}


def hit_sql(result: Result, alias: str = "p") -> tuple[str, list]:
    """`hit` as a SQL boolean over prediction columns."""
    if result.void:
        return "false", []
    scorer_hit = f"{alias}.no_goal" if result.first_scorer_id is None else f"{alias}.player_id = %s"
    sql = f"""(CASE {alias}.kind
      WHEN 'score' THEN {alias}.home_goals = %s AND {alias}.away_goals = %s
      WHEN 'winner' THEN {alias}.outcome = %s
      WHEN 'first_scorer' THEN {scorer_hit}
      WHEN 'possession' THEN {alias}.band = %s
      ELSE false END)"""
    params: list = [result.home, result.away, result.outcome]
    if result.first_scorer_id is not None:
        params.append(result.first_scorer_id)
    params.append(result.band if result.band is not None else -1)
    return sql, params


def exact_sql(result: Result, alias: str = "p") -> tuple[str, list]:
    """Whether a prediction is a right exact score (the boards' first tie-break), in SQL."""
    if result.void:
        return "false", []
    sql = f"({alias}.kind = 'score' AND {alias}.home_goals = %s AND {alias}.away_goals = %s)"
    return sql, [result.home, result.away]


def exact(prediction: Prediction, result: Result) -> bool:
    return prediction.kind == Kind.SCORE and hit(prediction, result)


def points_sql(
    result: Result,
    rules: ScoringRules,
    alias: str = "p",
    *,
    bonus: dict[str, int] | None = None,
    joker: str = "false",
) -> tuple[str, list]:
    """The same rules as `points_for`, as a SQL expression over prediction columns; `joker`
    is a SQL boolean (whether the row's fan played their joker on the match)."""
    if result.void:
        return "0", []
    diff = result.home - result.away
    hit, hit_params = hit_sql(result, alias)
    base = f"""CASE {alias}.kind
      WHEN 'score' THEN CASE
        WHEN {alias}.home_goals = %s AND {alias}.away_goals = %s THEN %s
        WHEN {alias}.home_goals - {alias}.away_goals = %s THEN %s
        WHEN sign({alias}.home_goals - {alias}.away_goals) = %s THEN %s
        ELSE 0 END
      WHEN 'winner' THEN %s WHEN 'first_scorer' THEN %s WHEN 'possession' THEN %s
      ELSE 0 END"""
    params: list = [result.home, result.away, rules.exact_score, diff, rules.goal_difference]
    params += [_sign(diff), rules.score_outcome, rules.winner, rules.first_scorer]
    params.append(rules.possession)
    # Every kind but the score earns its points only when right.
    sql = f"(CASE WHEN {alias}.kind = 'score' OR {hit} THEN {base} ELSE 0 END"
    params = [*hit_params, *params]
    bonus = bonus or {}
    if bonus:
        kinds = " ".join("WHEN %s THEN %s" for _ in bonus)
        sql += f" + CASE WHEN {hit} THEN CASE {alias}.kind {kinds} ELSE 0 END ELSE 0 END"
        params += [*hit_params, *(x for pair in bonus.items() for x in pair)]
    sql += f") * %s * (CASE WHEN {joker} THEN 2 ELSE 1 END)"
    params.append(result.multiplier)
    return sql, params
