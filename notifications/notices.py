"""Notices: what the pipeline tells fans about a match, built from its events.

A goal is held for PUSH_HOLD_SECONDS before it is sent. A goal disallowed within the hold is
never sent; disallowed later, it gets a correction notice with the same Topic (collapse key),
sent to the devices that received the goal, so the wrong score is replaced on their lock
screens. Every transition happens under the notice's row lock, so a disallow racing the
release ends either way but never both. Each notice has a unique `key`: a duplicated feed
event, a re-delivered task or the reconciler finds the notice already there.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from matches.live import replay_states, timeline
from matches.models import GOAL_KINDS, EventKind, Match, MatchEvent, MatchStatus
from notifications.backends import Message
from notifications.kinds import KINDS, kind
from notifications.models import Notice, NoticeChunk

logger = logging.getLogger("livescore.notifications")
K = EventKind
State = Notice.State


@dataclass(frozen=True)
class Due:
    """A notice to release after `countdown` seconds."""

    notice_id: int
    countdown: float


def push_kind(event: MatchEvent) -> str | None:
    """The push kind an event is announced as, or None."""
    if event.kind in GOAL_KINDS:
        return "goal"
    if event.kind == K.RED:
        return "red_card"
    if event.kind == K.KICKOFF:
        return "kickoff"
    if event.kind == K.PERIOD_END and event.status == MatchStatus.HALF_TIME:
        return "half_time"
    if event.kind == K.FULL_TIME:
        return "full_time"
    if event.kind == K.GOAL_DISALLOWED:
        return "var"
    return None


def topic(match: Match) -> str:
    """The collapse key of a match (Web Push Topic: at most 32 URL-safe characters)."""
    return f"m{match.pk}"


def scoreline(match: Match, score: tuple[int, int]) -> str:
    return f"{match.home.code} {score[0]}-{score[1]} {match.away.code}"


def _payload(notice_kind: str, match: Match, title: str, body: str, score: tuple[int, int]) -> dict:
    return {
        "v": 1,
        "kind": notice_kind,
        "match": match.slug,
        "title": title,
        "body": body,
        "s": list(score),
        "tag": topic(match),
        "url": f"/m/{match.slug}",
    }


def _texts(push: str, match: Match, event: MatchEvent, score: tuple[int, int]) -> tuple[str, str]:
    line = scoreline(match, score)
    who = event.player.name if event.player else ""
    at = f"{event.clock}" if event.minute is not None else ""
    if push == "goal":
        flag = {"penalty_goal": " (pen)", "own_goal": " (own goal)"}.get(str(event.kind), "")
        return f"GOAL! {line}", f"{who} {at}{flag}".strip()
    if push == "red_card":
        return f"Red card: {event.team.code if event.team else ''}", f"{who} {at}".strip()
    if push == "kickoff":
        return f"Kick-off: {match.home.code} v {match.away.code}", line
    if push == "half_time":
        return f"Half time: {line}", ""
    if push == "var":
        return f"Goal disallowed after VAR: {line}", event.detail[:100]
    pens = ""
    if match.home_pens is not None:
        pens = f" ({match.home_pens}-{match.away_pens} on penalties)"
    return f"Full time: {line}{pens}", ""


def _score_after(match: Match, event: MatchEvent) -> tuple[int, int]:
    events = timeline(match)
    index = next(i for i, e in enumerate(events) if e.pk == event.pk)
    return replay_states(match, events, at=[index])[0].score


def notices_from_events(event_ids: Iterable[int]) -> list[Due]:
    """Create the notices of these events (once each); returns what to release when."""
    due: list[Due] = []
    events = MatchEvent.objects.filter(pk__in=list(event_ids)).select_related(
        "match__home", "match__away", "player", "team", "supersedes"
    )
    for event in events.order_by("match_id", "seq"):
        push = push_kind(event)
        if push == "var":
            due += _disallowed(event)
        elif push is not None:
            due.append(_event_notice(push, event))
    return due


def _event_notice(push: str, event: MatchEvent) -> Due:
    match = event.match
    score = _score_after(match, event)
    title, body = _texts(push, match, event, score)
    hold = settings.PUSH_HOLD_SECONDS if push == "goal" else 0
    notice, _ = Notice.objects.get_or_create(
        key=f"{push}:{event.pk}",
        defaults={
            "kind": push,
            "match": match,
            "event": event,
            "payload": _payload(push, match, title, body, score),
            "send_after": event.created_at + dt.timedelta(seconds=hold),
        },
    )
    return Due(notice.pk, _countdown(notice))


def _countdown(notice: Notice) -> float:
    return max(0.0, (notice.send_after - timezone.now()).total_seconds())


def _disallowed(event: MatchEvent) -> list[Due]:
    """Cancel the goal's notice if it is still held, else correct it."""
    goal_event = event.supersedes
    if goal_event is None:
        return []
    with transaction.atomic():
        goal = Notice.objects.select_for_update().filter(key=f"goal:{goal_event.pk}").first()
        if goal is None:  # the goal's own notice is not made yet: it will see the disallow
            return []
        if goal.state == State.HELD:
            goal.state, goal.finished_at = State.CANCELLED, timezone.now()
            goal.save(update_fields=["state", "finished_at"])
            logger.info("goal notice %s cancelled within the hold window", goal.pk)
            return []
        if goal.state == State.CANCELLED:
            return []
        match = event.match
        score = _score_after(match, event)
        title, body = _texts("var", match, event, score)
        notice, _ = Notice.objects.get_or_create(
            key=f"var:{event.pk}",
            defaults={
                "kind": "var",
                "match": match,
                "event": event,
                "corrects": goal,
                "payload": _payload("var", match, title, body, score),
                "send_after": timezone.now(),
            },
        )
    return [Due(notice.pk, 0.0)]


def notice_release(notice_id: int) -> tuple[float | None, list[NoticeChunk]]:
    """Start sending a held notice when its time has come: its audience is cut into chunks.
    Returns (seconds to wait, when it is not yet due; the chunks to send)."""
    with transaction.atomic():
        locked = Notice.objects.select_for_update(of=("self",)).select_related("event", "match")
        notice = locked.get(pk=notice_id)
        if notice.state != State.HELD:
            return None, []
        if (wait := _countdown(notice)) > 0:
            return wait, []
        if notice.event is not None and goal_superseded(notice.event):
            notice.state, notice.finished_at = State.CANCELLED, timezone.now()
            notice.save(update_fields=["state", "finished_at"])
            return None, []
        bounds = _correction_bounds(notice) if notice.corrects_id else _audience_bounds(notice)
        chunks = NoticeChunk.objects.bulk_create(
            NoticeChunk(notice=notice, user_from=lo, user_to=hi, delay=delay)
            for lo, hi, delay in bounds
        )
        notice.state, notice.chunks_total = State.SENDING, len(chunks)
        if not chunks:
            notice.state, notice.finished_at = State.DONE, timezone.now()
        notice.save(update_fields=["state", "chunks_total", "finished_at"])
    return None, chunks


def goal_superseded(event: MatchEvent) -> bool:
    return MatchEvent.objects.filter(supersedes=event, kind=K.GOAL_DISALLOWED).exists()


# The follows of a match's fans who want a kind: of either team, or of the match itself.
FOLLOWS_WANTING = (
    "(f.team_id IN (%(home)s, %(away)s) OR f.match_id = %(match)s) AND f.kinds & %(bit)s <> 0"
)

AUDIENCE_USERS = f"""
SELECT f.user_id, COALESCE(p.delay, 0) AS delay
FROM notifications_follow f
LEFT JOIN notifications_preferences p ON p.user_id = f.user_id
WHERE {FOLLOWS_WANTING}
  AND (%(lead)s::int IS NULL OR COALESCE(p.reminder_minutes, 30) = %(lead)s)
  AND EXISTS (SELECT 1 FROM notifications_device d WHERE d.user_id = f.user_id)
GROUP BY f.user_id, delay
ORDER BY delay, f.user_id
"""


def _audience_bounds(notice: Notice) -> list[tuple[int, int, int]]:
    """(first user id, last user id, spoiler delay) of each chunk of the notice's audience,
    PUSH_CHUNK_USERS fans each; fans with a spoiler delay are chunked per delay."""
    match = notice.match
    params = {"home": match.home_id, "away": match.away_id, "match": match.pk}
    with connection.cursor() as cursor:
        lead = notice.payload.get("lead") if notice.kind == "reminder" else None
        cursor.execute(AUDIENCE_USERS, {**params, "bit": KINDS[notice.kind].bit, "lead": lead})
        rows = cursor.fetchall()
    size, bounds = settings.PUSH_CHUNK_USERS, []
    by_delay: dict[int, list[int]] = {}
    for user_id, delay in rows:
        by_delay.setdefault(delay, []).append(user_id)
    for delay, users in by_delay.items():
        for i in range(0, len(users), size):
            bounds.append((users[i], users[min(i + size, len(users)) - 1], delay))
    return bounds


def _correction_bounds(notice: Notice) -> list[tuple[int, int, int]]:
    """A correction reaches the devices its goal reached: the goal's chunks again."""
    original = NoticeChunk.objects.filter(notice=notice.corrects)
    return [(c.user_from, c.user_to, c.delay) for c in original.order_by("delay", "user_from")]


def message_of(notice: Notice) -> Message:
    spec = kind(notice.kind)
    payload = {**notice.payload, "id": f"n{notice.pk}", "ts": int(time.time() * 1000)}
    return Message(
        payload=json.dumps(payload, separators=(",", ":")).encode(),
        ttl=spec.ttl,
        urgency=spec.urgency,
        topic=notice.payload["tag"],
    )


def notices_due() -> list[Due]:
    """Held notices whose time has come (their release message may have been lost)."""
    stale = timezone.now() - dt.timedelta(seconds=settings.PUSH_RELEASE_GRACE)
    held = Notice.objects.filter(state=State.HELD, send_after__lt=stale)
    return [Due(pk, 0.0) for pk in held.values_list("pk", flat=True)[:100]]


def events_without_notices() -> list[int]:
    """Recent events that should have a notice and have none (their message was lost). A
    disallow needs one only when its goal was already sent (a correction)."""
    now = timezone.now()
    recent = MatchEvent.objects.filter(
        created_at__gte=now - dt.timedelta(minutes=15),
        created_at__lt=now - dt.timedelta(seconds=settings.PUSH_RELEASE_GRACE),
        # played now, not loaded: an import of historical matches writes recent rows too
        match__kickoff__gte=now - dt.timedelta(hours=6),
    ).only("pk", "kind", "status", "supersedes_id")
    pushed = [(event, push_kind(event)) for event in recent]
    keys = {f"{push}:{e.pk}" for e, push in pushed if push} | {
        f"goal:{e.supersedes_id}" for e, push in pushed if push == "var"
    }
    states = dict(Notice.objects.filter(key__in=keys).values_list("key", "state"))
    missing = []
    for event, push in pushed:
        if push is None or f"{push}:{event.pk}" in states:
            continue
        sent = states.get(f"goal:{event.supersedes_id}") in (State.SENDING, State.DONE)
        if push != "var" or sent:
            missing.append(event.pk)
    return missing
