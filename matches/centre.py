"""The match centre: line-ups and statistics by period, and the momentum derived from them.

Both arrive like every other fact (a provider feed, an operator's console, docs/feed.md)
and are timeline events: a `lineup` event per team (the whole line-up, replacing the
previous one) and a `stats` event per update of a period (that period's figures so far,
replacing the previous update of the same period). Their payload is the event's `data`,
so a line-up or a statistics update is ordered, numbered and applied once like a goal, is
carried by the snapshot and by its own delta frame, and is rebuilt from PostgreSQL with
the rest of the match's live state.

The cleaning functions are the one definition of a valid payload: the feed's and the
operators' serializers call them for a 400, the services (matches/services.py) again
before writing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from core.errors import DomainError
from matches.models import EventKind, Match, MatchEvent

K = EventKind


class CentreError(DomainError):
    """A line-up or statistics update that cannot be right; the message says why."""

    code = "match_rule"


STARTERS = 11
MAX_BENCH = 15
FORMATION = re.compile(r"^[1-6](-[1-6]){1,4}$")
# The figures of a statistics update, as the feed names them (and their keys on the wire).
STAT_KEYS: dict[str, str] = {
    "possession": "pos",
    "shots": "sh",
    "on_target": "ot",
    "corners": "co",
    "fouls": "fo",
    "yellow": "y",
    "red": "r",
    "offsides": "of",
}
# The fields of a feed event or an operator's command that make a centre event's payload.
CENTRE_KEYS = ("formation", "starting", "bench", "credit", "period", "home", "away", "simulated")
MAX_STAT = 99  # no team takes 100 shots or corners in a period
# Periods of statistics: the wire's (extra time is one period, as for the match clock).
PERIODS = {1: "first_half", 2: "second_half", 3: "extra_time"}
PERIOD_MINUTES = {1: (0, 45), 2: (45, 90), 3: (90, 120)}
MOMENTUM_BUCKET = 5  # minutes per bar of the momentum strip
MOMENTUM_SCALE = 9  # bars run from -9 (the away team pressing) to 9 (the home team)
# What a moment weighs in the momentum: attacking figures of the statistics, and the
# timeline's goals and missed penalties (a goal ends a spell of pressure; it is pressure).
PRESSURE = {"shots": 1, "on_target": 2, "corners": 1}
EVENT_PRESSURE: dict[str, int] = {K.GOAL: 4, K.PENALTY_GOAL: 4, K.OWN_GOAL: 2, K.MISSED_PENALTY: 2}


# ---- what a valid payload is -------------------------------------------------------------------


def lineup_clean(
    *,
    formation: str,
    starting: Sequence[dict[str, Any]],
    bench: Sequence[dict[str, Any]],
    credit: str = "",
) -> dict[str, Any]:
    """A line-up as stored: the formation, eleven starters and at most fifteen on the bench,
    each `{"number", "name", "position"}`; a name or a shirt number appears once; `credit`
    names the source where it must be credited."""
    if not FORMATION.match(formation) or sum(map(int, formation.split("-"))) != STARTERS - 1:
        raise CentreError(f"formation {formation!r} is not ten outfield players, e.g. 4-3-3")
    if len(starting) != STARTERS:
        raise CentreError(f"a line-up starts {STARTERS} players, not {len(starting)}")
    if len(bench) > MAX_BENCH:
        raise CentreError(f"at most {MAX_BENCH} players on the bench")
    players = [_player(row) for row in [*starting, *bench]]
    for key, what in (("name", "player"), ("number", "shirt number")):
        seen = [p[key] for p in players if p[key] is not None]
        if len(seen) != len(set(seen)):
            raise CentreError(f"a {what} appears twice in the line-up")
    if len(credit) > 80:
        raise CentreError("a credit is at most 80 characters")
    lineup = {"formation": formation, "starting": players[:STARTERS], "bench": players[STARTERS:]}
    return {**lineup, "credit": credit} if credit else lineup


def _player(row: dict[str, Any]) -> dict[str, Any]:
    name = str(row.get("name") or "").strip()
    if not name or len(name) > 120:
        raise CentreError("every player of a line-up needs a name (up to 120 characters)")
    number = row.get("number")
    if number is not None and (type(number) is not int or not 1 <= number <= 99):
        raise CentreError(f"{name}: a shirt number is 1 to 99")
    position = str(row.get("position") or "").strip().upper()
    if len(position) > 4:
        raise CentreError(f"{name}: a position is a short code such as GK or RCB")
    return {"number": number, "name": name, "position": position}


def stats_clean(
    *,
    period: int,
    home: dict[str, Any],
    away: dict[str, Any],
    minute: int | None = None,
    simulated: bool = False,
) -> dict[str, Any]:
    """A statistics update as stored: one period's figures for each team so far; the two
    possessions add up to 100 and no team has more shots on target than shots."""
    if period not in PERIODS:
        raise CentreError("a statistics period is 1, 2 or 3 (extra time)")
    sides = {"home": _figures(home), "away": _figures(away)}
    possession = [sides[side].get("possession") for side in sides]
    if None not in possession and sum(p or 0 for p in possession) != 100:
        raise CentreError("the two teams' possession adds up to 100")
    for side, figures in sides.items():
        if figures.get("on_target", 0) > figures.get("shots", MAX_STAT):
            raise CentreError(f"{side}: more shots on target than shots")
    if not sides["home"] and not sides["away"]:
        raise CentreError("a statistics update needs at least one figure")
    data: dict[str, Any] = {"period": period, **sides, "simulated": bool(simulated)}
    if minute is not None:
        data["minute"] = minute
    return data


def _figures(raw: dict[str, Any]) -> dict[str, int]:
    unknown = set(raw) - set(STAT_KEYS)
    if unknown:
        raise CentreError(f"unknown statistics: {', '.join(sorted(unknown))}")
    figures: dict[str, int] = {}
    for key, value in raw.items():
        top = 100 if key == "possession" else MAX_STAT
        if type(value) is not int or not 0 <= value <= top:
            raise CentreError(f"{key} is a whole number from 0 to {top}")
        figures[key] = value
    return figures


# ---- what the match centre shows ---------------------------------------------------------------


def lineups(events: Iterable[MatchEvent]) -> dict[int, MatchEvent]:
    """Each team's latest line-up event, by team id."""
    return {e.team_id: e for e in events if e.kind == K.LINEUP and e.team_id is not None}


def period_stats(events: Iterable[MatchEvent]) -> dict[int, MatchEvent]:
    """Each period's latest statistics update, by period."""
    return {e.period: e for e in events if e.kind == K.STATS}


def momentum(events: Sequence[MatchEvent], home_id: int) -> list[int]:
    """The momentum strip: one bar per five minutes played, from -9 (the away team on top)
    to 9 (the home team), the attacking figures of each statistics update spread over the
    minutes since the one before, plus goals and missed penalties where they happened."""
    buckets: dict[int, float] = {}
    last: dict[int, tuple[int, dict[str, Any]]] = {}
    cancelled = {e.supersedes_id for e in events if e.supersedes_id}
    for event in events:
        if event.kind == K.STATS and event.data:
            last[event.period] = _spread(buckets, event, last.get(event.period))
        elif event.kind in EVENT_PRESSURE and event.minute is not None:
            if event.pk in cancelled:
                continue
            sign = 1 if event.team_id == home_id else -1
            _add(buckets, event.minute + event.stoppage, sign * EVENT_PRESSURE[event.kind])
    if not buckets:
        return []
    peak = max(abs(v) for v in buckets.values()) or 1
    length = max(buckets) + 1
    return [round(buckets.get(n, 0) / peak * MOMENTUM_SCALE) for n in range(length)]


def _spread(
    buckets: dict[int, float],
    event: MatchEvent,
    previous: tuple[int, dict[str, Any]] | None,
) -> tuple[int, dict[str, Any]]:
    data = event.data or {}
    start, end = PERIOD_MINUTES[event.period]
    since, before = previous or (start, {"home": {}, "away": {}})
    until = min(max(data.get("minute") or end, since), end)
    pressure = sum(
        sign * weight * (data[side].get(key, 0) - before[side].get(key, 0))
        for side, sign in (("home", 1), ("away", -1))
        for key, weight in PRESSURE.items()
    )
    minutes = range(since, max(until, since + 1))
    for minute in minutes:
        _add(buckets, minute, pressure / len(minutes))
    return until, data


def _add(buckets: dict[int, float], minute: int, value: float) -> None:
    bucket = min(minute, 120) // MOMENTUM_BUCKET
    buckets[bucket] = buckets.get(bucket, 0.0) + value


# ---- the wire ------------------------------------------------------------------------------------


def lineup_wire(event: MatchEvent) -> dict[str, Any]:
    """A line-up event's frame data: `tm`, `f` formation, `xi` and `b` as
    `[number, name, position]` triples (number 0: not given), `cr` the credit if any."""
    data = event.data or {}

    def rows(players: list[dict[str, Any]]) -> list[list[Any]]:
        return [[p["number"] or 0, p["name"], p["position"]] for p in players]

    return {
        "tm": event.team.code if event.team else None,
        "f": data.get("formation"),
        "xi": rows(data.get("starting", [])),
        "b": rows(data.get("bench", [])),
        "cr": data.get("credit") or None,
    }


def stats_wire(event: MatchEvent) -> dict[str, Any]:
    """A statistics update's frame data: `pr` period, `m` minute, `h`/`a` the figures under
    their short keys, `sim` 1 when the figures are simulated, `mo` the momentum strip."""
    data = event.data or {}

    def short(figures: dict[str, int]) -> dict[str, int]:
        return {STAT_KEYS[k]: v for k, v in figures.items()}

    wire: dict[str, Any] = {
        "pr": event.period,
        "m": data.get("minute"),
        "h": short(data.get("home", {})),
        "a": short(data.get("away", {})),
        "mo": data.get("momentum") or None,
    }
    if data.get("simulated"):
        wire["sim"] = 1
    return wire


def centre_snapshot(match: Match, events: Sequence[MatchEvent]) -> dict[str, Any]:
    """The snapshot's match centre: `lu` line-ups by team code, `sx` each period's latest
    figures by period, `mo` the latest momentum strip; nothing when there is none."""
    teams = {match.home_id: match.home.code, match.away_id: match.away.code}
    lu = {teams[t]: _without_team(lineup_wire(e)) for t, e in lineups(events).items()}
    stats = period_stats(events)
    sx = {str(p): _stats_only(stats_wire(e)) for p, e in sorted(stats.items())}
    latest = max(stats.values(), key=lambda e: e.seq) if stats else None
    centre: dict[str, Any] = {"lu": lu or None, "sx": sx or None}
    if latest is not None:
        centre["mo"] = (latest.data or {}).get("momentum") or None
        centre["sim"] = 1 if any((e.data or {}).get("simulated") for e in stats.values()) else None
    return centre


def _without_team(wire: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wire.items() if k != "tm"}


def _stats_only(wire: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wire.items() if k in ("m", "h", "a") and v is not None}
