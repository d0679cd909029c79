"""The match centre of a replay: the feed events a provider would send for a replayed match
besides its timeline.

- Line-ups and substitutions are facts: the shipped data file of a match
  (matches/data/lineups, with its source) gives the formation, starting XI, bench and each
  substitution's minute. Line-ups go out before kick-off.
- Per-period statistics of the 2022 final are not available from a source that can be
  checked, so they are simulated and marked so (`simulated: true`, and the app says so):
  the figures the timeline supports are real (cards, and at least one shot on target per
  goal), the rest are drawn from a generator seeded with the match, so every replay of a
  match shows the same figures.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matches.centre import PERIOD_MINUTES
from matches.models import EventKind, Match, MatchEvent

K = EventKind
LINEUP_DIR = Path(__file__).resolve().parent / "data" / "lineups"
STATS_EVERY = 15  # match minutes between statistics updates
PERIOD_OF_STATUS = {"first_half": 1, "second_half": 2, "extra_time": 3}
# Per 15 minutes and team: the simulated figures' ranges (a World Cup knockout match's
# typical totals: 10-15 shots, 4-6 on target, 4-6 corners, 10-14 fouls, 1-3 offsides).
DRAWS = {"shots": (0, 4), "corners": (0, 2), "fouls": (1, 4), "offsides": (0, 1)}


@dataclass(frozen=True)
class Extra:
    """A centre event to add to a replay, placed by its period and minute."""

    period: int  # 0: before kick-off
    minute: int
    event: dict[str, Any]


def lineup_file(match: Match) -> dict[str, Any] | None:
    """The shipped line-up data of a match with these teams on this date, if any."""
    codes = {match.home.code, match.away.code}
    day = match.kickoff.date().isoformat()
    for path in sorted(LINEUP_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        dated = re.search(r"\d{4}-\d{2}-\d{2}", data.get("match", ""))
        if {t["team"] for t in data["teams"]} == codes and dated and dated.group() == day:
            return data
    return None


def centre_extras(source: Match, timeline: list[MatchEvent]) -> list[Extra]:
    """Line-ups, substitutions (unless the timeline has its own) and simulated statistics."""
    extras: list[Extra] = []
    data = lineup_file(source)
    if data is not None:
        extras += _lineups(data)
        if not any(e.kind == K.SUBSTITUTION for e in timeline):
            extras += _substitutions(data)
    periods = sorted({PERIOD_OF_STATUS[e.status] for e in timeline if e.status in PERIOD_OF_STATUS})
    if periods:
        extras += _statistics(source, timeline, periods)
    return extras


def _lineups(data: dict[str, Any]) -> list[Extra]:
    credit = data.get("credit", "")
    return [
        Extra(
            0,
            0,
            {
                "kind": "lineup",
                "team": side["team"],
                "formation": side["formation"],
                "starting": [_row(p) for p in side["starting"]],
                "bench": [_row(p) for p in side["bench"]],
                **({"credit": credit} if credit else {}),
            },
        )
        for side in data["teams"]
    ]


def _row(player: dict[str, Any]) -> dict[str, Any]:
    row = {"number": player.get("number"), "name": player["name"]}
    return {**row, "position": player["position"]} if player.get("position") else row


def _substitutions(data: dict[str, Any]) -> list[Extra]:
    """The file's minutes are minutes of play (121: the first added minute of extra time's
    second half); the feed's are minute plus stoppage."""
    extras = []
    for side in data["teams"]:
        for sub in side["substitutions"]:
            played = sub["minute"]
            period = 1 if played <= 45 else 2 if played <= 90 else 3
            minute = min(played, PERIOD_MINUTES[period][1])
            stoppage = played - minute
            event = {"kind": "substitution", "team": side["team"], "minute": minute}
            event |= {"player": sub["on"], "player_out": sub["off"]}
            if stoppage:
                event["stoppage"] = stoppage
            extras.append(Extra(period, played, event))
    return extras


def _statistics(source: Match, timeline: list[MatchEvent], periods: Iterable[int]) -> list[Extra]:
    rng = random.Random(source.slug)  # the same figures on every replay of the match
    teams: dict[int | None, str] = {source.home_id: "home", source.away_id: "away"}
    base = source.home_possession or 50
    extras = []
    for period in periods:
        start, end = PERIOD_MINUTES[period]
        totals: dict[str, dict[str, int]] = {"home": {}, "away": {}}
        home_possession = max(25, min(75, base + rng.randint(-6, 6)))
        for minute in range(start + STATS_EVERY, end + 1, STATS_EVERY):
            for side in totals:
                for key, (low, high) in DRAWS.items():
                    totals[side][key] = totals[side].get(key, 0) + rng.randint(low, high)
            figures = _with_facts(totals, timeline, teams, period, minute)
            figures["home"]["possession"] = home_possession
            figures["away"]["possession"] = 100 - home_possession
            event = {"kind": "stats", "period": period, "minute": minute, "simulated": True}
            extras.append(Extra(period, minute, {**event, **figures}))
    return extras


def _with_facts(
    totals: dict[str, dict[str, int]],
    timeline: list[MatchEvent],
    teams: dict[int | None, str],
    period: int,
    minute: int,
) -> dict[str, dict[str, int]]:
    """The drawn figures made consistent with the timeline up to `minute` of `period`:
    the real cards, and shots on target no fewer than goals (nor than a third of shots)."""
    start = PERIOD_MINUTES[period][0]
    within = [e for e in timeline if e.minute is not None and start < e.minute <= minute]
    out = {side: dict(figures) for side, figures in totals.items()}
    for side, figures in out.items():
        mine = [e for e in within if teams.get(e.team_id) == side]
        goals = sum(e.kind in (K.GOAL, K.PENALTY_GOAL) for e in mine)
        figures["yellow"] = sum(e.kind == K.YELLOW for e in mine)
        figures["red"] = sum(e.kind == K.RED for e in mine)
        figures["on_target"] = max(goals, figures["shots"] // 3)
        figures["shots"] = max(figures["shots"], figures["on_target"])
    return out
