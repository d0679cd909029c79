"""The excitement of a live match: one number from what is happening now (docs/trending.md).

Pure: the signals in, the score out, so the formula is tested and documented on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

RECENT_MINUTES = 10  # goals and VAR decisions count while this recent (match minutes)
LATE_MINUTE = 75  # from here a close game is drama


@dataclass(frozen=True)
class Signals:
    watchers: int  # sockets watching the match, every gateway
    chat_per_second: float  # messages accepted in the match's room, over the last seconds
    score: tuple[int, int]
    minute: int
    goal_minutes: list[int] = field(default_factory=list)  # minutes of goals that count
    var_minutes: list[int] = field(default_factory=list)  # VAR reviews and disallowed goals


def excitement(s: Signals) -> float:
    """log-scaled crowd (watchers, chat) + recent goals + recent VAR + closeness, the last
    weighing more late in the game."""
    crowd = math.log10(1 + s.watchers) + 0.5 * math.log10(1 + 60 * s.chat_per_second)
    recent = [m for m in s.goal_minutes if s.minute - m <= RECENT_MINUTES]
    var = [m for m in s.var_minutes if s.minute - m <= RECENT_MINUTES]
    margin = abs(s.score[0] - s.score[1])
    closeness = {0: 2.0, 1: 1.5}.get(margin, 0.0)
    if s.minute >= LATE_MINUTE:
        closeness *= 2
    return round(crowd + 2.0 * len(recent) + 1.5 * len(var) + closeness, 3)
