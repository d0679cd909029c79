"""The picks table of a live match's predictions (docs/scoring.md, provisional standings).

A prediction's points depend only on its kind, its value and the match's state, and a match
has few distinct values (a few dozen scores, three outcomes, a few dozen scorers, four
bands). At kick-off (the first computation) the match's predictions are read once and kept
in Redis as a compact table (`prov:picks:<match>`): the distinct picks ("classes"), and per
prediction its fan's index and its class. Predictions are locked from kick-off on, so the
table never changes while the match is live. Points are then computed per class
(`class_points`, by the rule settlement's SQL implements) and summed per fan (`per_fan`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

import numpy as np
from django.db import connection

from core.redis import board_client as client
from predictions import scoring, settlement
from predictions.models import Prediction, ScoringRules

PICK_COLUMNS = ("kind", "home_goals", "away_goals", "outcome", "player_id", "no_goal", "band")
PICKS_TTL = 2 * 86400


def picks_key(match_id: int) -> str:
    return f"prov:picks:{match_id}"


@dataclass(frozen=True)
class Picks:
    """A locked match's predictions as classes: `users` are the fans (sorted), and each
    prediction is (`fan[i]` an index into users, `cls[i]` an index into classes)."""

    users: np.ndarray  # int64
    fan: np.ndarray  # int32, one per prediction
    cls: np.ndarray  # int32, one per prediction
    classes: list[tuple]  # PICK_COLUMNS values of each class, then the joker (bool)

    def counts(self) -> np.ndarray:
        """Predictions per class (for the rarity bonus and for checks)."""
        return np.bincount(self.cls, minlength=len(self.classes))


def picks_build(match_id: int) -> Picks:
    """Read the match's predictions once, grouped by pick in PostgreSQL (a few hundred rows,
    each with its fans' ids as an array)."""
    columns = ", ".join([*(f"p.{c}" for c in PICK_COLUMNS), settlement.JOKER_PLAYED])
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {columns}, array_agg(p.user_id) FROM predictions_prediction p
                {settlement.JOKER_JOIN}
                WHERE p.match_id = %s GROUP BY {columns} ORDER BY {columns}""",
            [match_id],
        )
        rows = cursor.fetchall()
    classes = [tuple(row[:-1]) for row in rows]
    per_class = [np.asarray(row[-1], dtype=np.int64) for row in rows]
    lengths = np.array([len(a) for a in per_class], dtype=np.int64)
    flat = np.concatenate(per_class) if per_class else np.zeros(0, dtype=np.int64)
    users, fan = np.unique(flat, return_inverse=True)
    cls = np.repeat(np.arange(len(classes), dtype=np.int32), lengths)
    return Picks(users, fan.astype(np.int32), cls, classes)


def _picks_store(match_id: int, picks: Picks) -> None:
    key = picks_key(match_id)
    pipe = client().pipeline(transaction=True)
    pipe.delete(key)
    pipe.hset(
        key,
        mapping={
            "users": picks.users.tobytes(),
            "fan": picks.fan.tobytes(),
            "cls": picks.cls.tobytes(),
            "classes": json.dumps(picks.classes),
        },
    )
    pipe.expire(key, PICKS_TTL)
    pipe.execute()


def picks_for(match_id: int) -> Picks:
    """The table from Redis, or built from PostgreSQL and stored (the first computation)."""
    stored = client().hmget(picks_key(match_id), ["users", "fan", "cls", "classes"])
    users, fan, cls, classes = cast(list[bytes | None], stored)
    if users is not None and fan is not None and cls is not None and classes is not None:
        return Picks(
            np.frombuffer(users, dtype=np.int64),
            np.frombuffer(fan, dtype=np.int32),
            np.frombuffer(cls, dtype=np.int32),
            [tuple(c) for c in json.loads(classes)],
        )
    picks = picks_build(match_id)
    _picks_store(match_id, picks)
    return picks


# ---- points per class and per fan ------------------------------------------------------------


def class_points(picks: Picks, result: scoring.Result, rules: ScoringRules) -> np.ndarray:
    """Points of each class at `result`: the settlement rule, once per distinct pick, with
    the rarity bonus from the same counters settlement would use (right and all picks of
    each kind, over the whole match)."""
    predictions = _predictions(picks)
    sizes = picks.counts().tolist()
    counts: dict[str, list[int]] = {}
    for prediction, size in zip(predictions, sizes, strict=True):
        right_total = counts.setdefault(prediction.kind, [0, 0])
        right_total[0] += size if scoring.hit(prediction, result) else 0
        right_total[1] += size
    bonus = scoring.rarity_bonuses({k: (r, t) for k, (r, t) in counts.items()}, rules)
    out = np.zeros(len(picks.classes), dtype=np.int64)
    for i, (prediction, values) in enumerate(zip(predictions, picks.classes, strict=True)):
        out[i] = scoring.points_for(prediction, result, rules, bonus=bonus, joker=values[-1])
    return out


def class_exacts(picks: Picks, result: scoring.Result) -> np.ndarray:
    """1 for the classes that are a right exact score at `result` (the first tie-break)."""
    return np.array([scoring.exact(p, result) for p in _predictions(picks)], dtype=np.int64)


def _predictions(picks: Picks) -> list[Prediction]:
    """Each class as an unsaved prediction, for the scoring functions."""
    return [Prediction(**dict(zip(PICK_COLUMNS, c[:-1], strict=True))) for c in picks.classes]


def per_fan(picks: Picks, per_class: np.ndarray) -> np.ndarray:
    """Each fan's sum of a per-class figure over their predictions (aligned with
    `picks.users`)."""
    weights = per_class[picks.cls].astype(np.float64)
    return np.bincount(picks.fan, weights=weights, minlength=len(picks.users)).astype(np.int64)
