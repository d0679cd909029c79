"""Frames sent to clients: their types, their compact shapes, and their encoding.

A frame is encoded once per event (here) and the same text is written to every socket.
Keys are short and nulls are left out; a goal frame stays within 120 bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from matches.models import GOAL_KINDS, EventKind, Match, MatchEvent
from realtime.channels import match_channel

MAX_GOAL_FRAME_BYTES = 120
SNAPSHOT_EVENTS = 20  # key events carried in a snapshot so a client can draw the match

K = EventKind
FRAME_TYPE: dict[str, str] = {
    K.GOAL: "goal",
    K.OWN_GOAL: "goal",
    K.PENALTY_GOAL: "goal",
    K.YELLOW: "card",
    K.RED: "card",
    K.SUBSTITUTION: "sub",
    K.MISSED_PENALTY: "miss",
    K.VAR_REVIEW: "var",
    K.GOAL_DISALLOWED: "disallow",
    K.SHOOTOUT_KICK: "pen",
    K.KICKOFF: "status",
    K.PERIOD_START: "status",
    K.PERIOD_END: "status",
    K.FULL_TIME: "status",
    K.STATUS: "status",
    K.POSSESSION: "stat",
}
GOAL_FLAG = {K.OWN_GOAL: "og", K.PENALTY_GOAL: "pen"}


@dataclass(frozen=True)
class Frame:
    channel: str
    seq: int
    text: str  # the encoded frame, as written to sockets


@dataclass(frozen=True)
class MatchState:
    """The score a frame reports: the match's state right after the event."""

    home: str
    away: str
    score: tuple[int, int]
    pens: tuple[int, int] | None
    status: str
    minute: int | None

    @classmethod
    def of(cls, match: Match) -> MatchState:
        pens = None if match.home_pens is None else (match.home_pens, match.away_pens or 0)
        return cls(
            home=match.home.code,
            away=match.away.code,
            score=(match.home_score, match.away_score),
            pens=pens,
            status=match.status,
            minute=match.minute,
        )


def encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != ""}


def frame_type(event: MatchEvent) -> str:
    if event.kind in GOAL_KINDS and event.supersedes_id:
        return "correct"
    return FRAME_TYPE[event.kind]


def event_data(event: MatchEvent, state: MatchState) -> dict[str, Any]:
    """The `d` of a delta frame, with the score as it stands after the event."""
    team = event.team.code if event.team_id else None
    data: dict[str, Any] = {
        "tm": team,
        "p": event.player.name if event.player_id else None,
        "m": event.minute,
        "x": event.stoppage or None,
    }
    kind = event.kind
    if kind in GOAL_KINDS:
        data.update(s=list(state.score), k=GOAL_FLAG.get(kind))
        if event.supersedes_id:
            data["ref"] = event.supersedes.seq
    elif kind in (K.YELLOW, K.RED):
        data["c"] = "y" if kind == K.YELLOW else "r"
    elif kind == K.SUBSTITUTION:
        data["po"] = event.related_player.name if event.related_player_id else None
    elif kind in (K.VAR_REVIEW, K.GOAL_DISALLOWED):
        data.update(r=event.detail[:60] or None)
        if kind == K.GOAL_DISALLOWED:
            data.update(ref=event.supersedes.seq, s=list(state.score))
    elif kind == K.POSSESSION:
        data = {"pos": int(event.detail or 0)}
    elif kind == K.SHOOTOUT_KICK:
        data.update(ok=int(bool(event.scored)), ps=list(state.pens) if state.pens else None)
    else:  # kick-off, periods, full time, other status changes
        data = {"st": event.status, "m": event.minute, "s": list(state.score)}
    return _compact(data)


def _short_name(name: str) -> str:
    parts = name.split()
    return f"{parts[0][0]}. {' '.join(parts[1:])}" if len(parts) > 1 else name


def event_frame(slug: str, event: MatchEvent, state: MatchState) -> Frame:
    channel = match_channel(slug)
    data = event_data(event, state)
    payload = {"ch": channel, "t": frame_type(event), "seq": event.seq, "d": data}
    text = encode(payload)
    # Long names would push a goal frame past its budget: shorten, then cut.
    while len(text.encode()) > MAX_GOAL_FRAME_BYTES and data.get("p"):
        shorter = _short_name(data["p"])
        data["p"] = shorter if shorter != data["p"] else data["p"][:-1]
        text = encode(payload)
    return Frame(channel=channel, seq=event.seq, text=text)


def snapshot_data(
    match: Match, recent: list[MatchEvent], states: list[MatchState]
) -> dict[str, Any]:
    """The `d` of a snapshot frame: the whole visible state of the match, compact."""
    state = MatchState.of(match)
    events = [
        {"t": frame_type(e), "seq": e.seq, **event_data(e, s)}
        for e, s in zip(recent, states, strict=True)
    ]
    return _compact(
        {
            "h": state.home,
            "a": state.away,
            "s": list(state.score),
            "ps": list(state.pens) if state.pens else None,
            "st": state.status,
            "m": state.minute,
            "pos": match.home_possession,
            "ko": match.kickoff.strftime("%Y-%m-%dT%H:%MZ"),
            "ev": events or None,
        }
    )


def snapshot_frame(slug: str, seq: int, data: dict[str, Any]) -> str:
    return encode({"ch": match_channel(slug), "t": "snap", "seq": seq, "d": data})


def reset_frame(channel: str) -> str:
    """The match behind a channel was re-created: clients drop what they hold and expect seq
    to start again from 1."""
    return encode({"ch": channel, "t": "reset"})


def error_frame(code: str, message: str, **extra: Any) -> str:
    return encode({"t": "err", "code": code, "msg": message, **extra})
