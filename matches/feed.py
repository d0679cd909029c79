"""Provider feeds: request signatures, storing received events, applying them in order.

Durability (docs/feed.md): a batch is written to PostgreSQL before the feed answers 202, and
the queue carries only a wake-up ("drain this provider's events for this match"). A lost
wake-up (a killed worker, a restarted Redis) loses nothing: the reconciler finds stored
events still pending and wakes a drain again.

Policy for order: each provider numbers its events per match (`seq` 1, 2, ...). Events are
applied strictly in that order through the match services. A stored event is never skipped:
the drain always takes the lowest pending number. Only a number that was never received is
a gap: the event after it waits until the missing one arrives; if it has not come after
GAP_TIMEOUT_SECONDS, the gap is skipped (logged) so one lost event cannot freeze a match. An
event whose number is already behind the cursor is stale and skipped; an event id seen
before is a duplicate and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.context import correlation
from core.metrics import FEED_EVENTS, GOAL_STAGE
from matches import centre, commands, services
from matches.models import EventKind, FeedCursor, FeedEvent, Match, MatchEvent, Player, Team
from matches.selectors import match_team

logger = logging.getLogger("livescore.feed")

PROVIDER_HEADER = "X-Livescore-Provider"
TIMESTAMP_HEADER = "X-Livescore-Timestamp"
SIGNATURE_HEADER = "X-Livescore-Signature"
FRESHNESS_SECONDS = 300
GAP_TIMEOUT_SECONDS = 10
MAX_BATCH = 500
MAX_SEQ = 2**31 - 1  # the database column's range: larger numbers are refused at the edge
# A pending event older than this with no drain in sight is woken by the reconciler.
RECONCILE_AFTER_SECONDS = 2

State = FeedEvent.State


class FeedAuthError(Exception):
    """The request is not provably from a known provider, or is too old."""


def feed_sign(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def feed_verify(*, provider: str, timestamp: str, signature: str, body: bytes) -> None:
    """Check the provider, the freshness of the timestamp and the HMAC over timestamp+body."""
    secret = settings.FEED_PROVIDERS.get(provider)
    if not secret:
        raise FeedAuthError("unknown provider")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise FeedAuthError("timestamp must be unix seconds") from None
    if abs(timezone.now().timestamp() - sent_at) > FRESHNESS_SECONDS:
        raise FeedAuthError(f"timestamp outside the {FRESHNESS_SECONDS}s freshness window")
    expected = feed_sign(secret=secret, timestamp=sent_at, body=body)
    if not hmac.compare_digest(expected, signature):
        raise FeedAuthError("bad signature")


@transaction.atomic
def feed_store(*, provider: str, events: list[dict[str, Any]]) -> set[int]:
    """Keep each received event once (a re-sent id is ignored), all or nothing; returns the
    match ids. Once this returns, the events survive any worker or Redis failure."""
    ids = dict(
        Match.objects.filter(slug__in={e["match"] for e in events}).values_list("slug", "id")
    )
    rows = [
        FeedEvent(
            provider=provider,
            provider_event_id=e["id"],
            match_id=ids[e["match"]],
            provider_seq=e["seq"],
            payload=e,
        )
        for e in events
        if e["match"] in ids
    ]
    FeedEvent.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(lambda: FEED_EVENTS.labels("received", "").inc(len(rows)))
    return {row.match_id for row in rows}


def feed_drain(*, provider: str, match_id: int) -> bool:
    """Apply this provider's waiting events for a match, in order, one transaction each.

    Returns True when events still wait behind a gap (the caller checks again later).
    """
    outer = correlation.get()
    try:
        return _drain(provider, match_id)
    finally:
        correlation.set(outer)


def _drain(provider: str, match_id: int) -> bool:
    while True:
        with transaction.atomic():
            cursor = _cursor(provider, match_id)
            event = (
                FeedEvent.objects.filter(provider=provider, match_id=match_id, state=State.PENDING)
                .order_by("provider_seq", "id")
                .first()
            )
            if event is None:
                return False
            # Every log line of this event, in this worker and in the gateways it publishes
            # to, carries the provider's event id (and its commit callbacks still see it).
            correlation.set(f"{provider}:{event.provider_event_id}")
            if event.provider_seq <= cursor.last_seq:
                _finish(event, State.SKIPPED, "stale: sequence number already applied")
                continue
            if event.provider_seq > cursor.last_seq + 1 and not _gap_expired(event):
                return True
            if event.provider_seq > cursor.last_seq + 1:
                logger.warning(
                    "feed gap skipped provider=%s match=%s after=%s next=%s",
                    provider,
                    match_id,
                    cursor.last_seq,
                    event.provider_seq,
                )
            _apply(event)
            logger.info("feed event %s match=%s seq=%s", event.state, match_id, event.provider_seq)
            cursor.last_seq = event.provider_seq
            cursor.save(update_fields=["last_seq"])


def feed_waiting(*, older_than: float = RECONCILE_AFTER_SECONDS) -> list[tuple[str, int]]:
    """(provider, match id) pairs with events stored but not applied for `older_than`
    seconds: their wake-up was lost, or they wait behind a gap that may have timed out."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than)
    rows = (
        FeedEvent.objects.filter(state=State.PENDING, received_at__lt=cutoff)
        .values_list("provider", "match_id")
        .distinct()
    )
    return sorted(rows)


def _cursor(provider: str, match_id: int) -> FeedCursor:
    FeedCursor.objects.get_or_create(provider=provider, match_id=match_id)
    return FeedCursor.objects.select_for_update().get(provider=provider, match_id=match_id)


def _gap_expired(event: FeedEvent) -> bool:
    return event.received_at < timezone.now() - dt.timedelta(seconds=GAP_TIMEOUT_SECONDS)


def _finish(event: FeedEvent, state: str, error: str = "", reason: str = "") -> None:
    event.state, event.error, event.applied_at = state, error[:200], timezone.now()
    event.save(update_fields=["state", "error", "applied_at"])
    transaction.on_commit(lambda: FEED_EVENTS.labels(state, reason).inc())


def _apply(event: FeedEvent) -> None:
    try:
        with transaction.atomic():
            if event.payload.get("kind") == "goal":
                _time_goal(event.received_at.timestamp())
            command = _command(event)
            recorded = commands.match_apply(match=event.match, command=command)
            if event.payload.get("kind") == "goal":
                _time_goal(event.received_at.timestamp(), "published")
    except services.MatchRuleError as exc:
        logger.warning("feed event rejected id=%s: %s", event.provider_event_id, exc)
        _finish(event, State.REJECTED, str(exc), reason=exc.code)
        return
    _finish(event, State.APPLIED if recorded.created else State.DUPLICATE)


def _time_goal(received: float, stage: str = "committed") -> None:
    """After commit, a goal's time since feed receipt. On-commit callbacks run in order: one
    registered before the service's own (its publish) times the commit, one after it the
    publish. A rejected goal's savepoint rolls back and takes them along."""
    transaction.on_commit(lambda: GOAL_STAGE.labels(stage).observe(time.time() - received))


def _command(event: FeedEvent) -> commands.EventCommand:
    p, match = event.payload, event.match
    target = _target(event.provider, p.get("target"))
    # A correction names the new scorer; the team is the corrected goal's unless given.
    team = _team(match, p.get("team")) or (target.team if target else None)
    return commands.EventCommand(
        kind=p["kind"],
        team=team,
        player=_player(match, team, p.get("player"), p["kind"]),
        related_player=_player(match, team, p.get("player_out"), p["kind"]),
        minute=p.get("minute"),
        stoppage=p.get("stoppage") or 0,
        scored=p.get("scored"),
        status=p.get("status"),
        target=target,
        detail=p.get("detail") or "",
        value=p.get("value"),
        data={k: p[k] for k in centre.CENTRE_KEYS if k in p},
        source=services.Source(event.provider, event.provider_event_id),
    )


def _team(match: Match, code: str | None) -> Team | None:
    if not code:
        return None
    team = match_team(match, code)
    if team is None:
        raise services.MatchRuleError(f"{code} does not play in {match.slug}")
    return team


def _player(match: Match, team: Team | None, name: str | None, kind: str) -> Player | None:
    """Providers name players; an unknown name joins the squad (late call-ups happen)."""
    if not name or team is None:
        return None
    if kind == EventKind.OWN_GOAL:  # the scorer of an own goal plays for the other side
        team = match.away if team.pk == match.home_id else match.home
    player, _ = Player.objects.get_or_create(team=team, name=name[:120])
    return player


def _target(provider: str, provider_event_id: str | None) -> MatchEvent | None:
    if not provider_event_id:
        return None
    target = MatchEvent.objects.filter(provider=provider, provider_event_id=provider_event_id)
    found = target.first()
    if found is None:
        raise services.MatchRuleError(f"no event {provider_event_id} to correct")
    return found
