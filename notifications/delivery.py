"""Sending one chunk of a notice: its devices, the fans' rules, the sender, the progress.

Progress lives in PostgreSQL (NoticeChunk); which device already has the notice lives in
the notice's claim hash in Redis (notifications/sender.py). A retried, duplicated or
re-delivered chunk task therefore sends only what no attempt sent before.

The fans' rules, applied per device here (docs/notifications.md):
- quiet hours in the fan's time zone: nothing is sent, except goals, full time and VAR
  corrections of a match the fan follows explicitly (not through a team);
- the cap: at most `cap` pushes per match per PUSH_CAP_WINDOW seconds; above it the push is
  merged into the window's digest, sent when the window ends;
- corrections after VAR ignore both: they replace a score already on the fan's screen.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core import metrics
from core.redis import client
from notifications import digests, personal
from notifications.backends import Target
from notifications.kinds import DIGEST, KINDS
from notifications.models import Device, Notice, NoticeChunk
from notifications.notices import FOLLOWS_WANTING, goal_superseded, message_of
from notifications.sender import claims_key, sender
from realtime.channels import seen_key

logger = logging.getLogger("livescore.notifications")
QUIET_EXCEPTIONS = frozenset({"goal", "full_time", "var"})  # for explicitly followed matches
CAPPED = frozenset({"kickoff", "goal", "red_card", "half_time", "full_time"})


@dataclass(frozen=True, slots=True)
class Recipient:
    target: Target
    tz: str
    quiet_from: dt.time | None
    quiet_to: dt.time | None
    cap: int
    explicit: bool  # follows the match itself, not only a team


RECIPIENTS = f"""
SELECT d.id, d.user_id, d.backend, d.endpoint, d.p256dh, d.auth, d.token,
       COALESCE(p.timezone, 'UTC'), p.quiet_from, p.quiet_to, COALESCE(p.cap, 3),
       bool_or(f.match_id IS NOT NULL)
FROM notifications_follow f
JOIN notifications_device d ON d.user_id = f.user_id
LEFT JOIN notifications_preferences p ON p.user_id = f.user_id
WHERE {FOLLOWS_WANTING}
  AND f.user_id BETWEEN %(lo)s AND %(hi)s
  AND COALESCE(p.delay, 0) = %(delay)s
  AND (%(lead)s::int IS NULL OR (
    COALESCE(p.reminder_minutes, 30) = %(lead)s AND NOT EXISTS (
      SELECT 1 FROM predictions_prediction pr
      WHERE pr.user_id = f.user_id AND pr.match_id = %(match)s)))
GROUP BY d.id, p.user_id
ORDER BY d.user_id, d.id
"""


def recipients(notice: Notice, chunk: NoticeChunk) -> list[Recipient]:
    match = notice.match
    bit = KINDS["goal" if notice.corrects_id else notice.kind].bit
    params = {
        "home": match.home_id, "away": match.away_id, "match": match.pk, "bit": bit,
        "lo": chunk.user_from, "hi": chunk.user_to, "delay": chunk.delay,
        "lead": notice.payload.get("lead") if notice.kind == "reminder" else None,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(RECIPIENTS, params)
        rows = cursor.fetchall()
    return [
        Recipient(Target(*row[:7]), tz=row[7], quiet_from=row[8], quiet_to=row[9], cap=row[10],
                  explicit=row[11])
        for row in rows
    ]  # fmt: skip


@lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def in_quiet_hours(r: Recipient, now: dt.datetime) -> bool:
    if r.quiet_from is None or r.quiet_to is None or r.quiet_from == r.quiet_to:
        return False
    local = now.astimezone(_zone(r.tz)).time()
    if r.quiet_from < r.quiet_to:
        return r.quiet_from <= local < r.quiet_to
    return local >= r.quiet_from or local < r.quiet_to  # across midnight


def _by_rules(notice: Notice, found: list[Recipient]) -> list[Target]:
    """The devices the fans' rules let through now; the rest are counted (and capped ones
    are put in the digest)."""
    if notice.corrects_id:
        return [r.target for r in found]
    found = _not_seen_live(notice, found)
    now = timezone.now()
    awake = []
    for r in found:
        if in_quiet_hours(r, now) and not (r.explicit and notice.kind in QUIET_EXCEPTIONS):
            metrics.PUSH_HELD_BACK.labels("quiet").inc()
        else:
            awake.append(r)
    if notice.kind not in CAPPED:
        return [r.target for r in awake]
    allowed = digests.within_cap(notice, sorted({(r.target.user_id, r.cap) for r in awake}))
    through = [r.target for r in awake if r.target.user_id in allowed]
    metrics.PUSH_HELD_BACK.labels("digest").inc(len(awake) - len(through))
    return through


def _not_seen_live(notice: Notice, found: list[Recipient]) -> list[Recipient]:
    """Without the fans whose sockets were written this event's frame (gateway/hub.py)."""
    event = notice.event
    if notice.kind not in settings.PUSH_SKIP_LIVE_KINDS or event is None or not found:
        return found
    users = sorted({r.target.user_id for r in found})
    seen = client().smismember(seen_key(notice.match.slug, event.seq), users)
    watching = {user for user, hit in zip(users, seen, strict=True) if hit}
    if watching:
        metrics.PUSH_HELD_BACK.labels("live").inc(len(watching))
    return [r for r in found if r.target.user_id not in watching]


def _only_reached(notice: Notice, targets: list[Target]) -> list[Target]:
    """A correction goes only to the devices its goal reached (or was on its way to)."""
    if not targets:
        return targets
    states = client().hmget(claims_key(notice.corrects_id or 0), [str(t.pk) for t in targets])
    return [t for t, s in zip(targets, states, strict=True) if s in (b"o", b"i")]


@dataclass(frozen=True)
class ChunkResult:
    retry_in: float | None  # seconds until the chunk should be tried again
    finished_notice: int | None


def send_chunk(chunk_id: int) -> ChunkResult:
    chunk = NoticeChunk.objects.select_related("notice__match", "notice__event").get(pk=chunk_id)
    notice = chunk.notice
    if chunk.state == NoticeChunk.State.DONE:
        return ChunkResult(None, None)
    if notice.state == Notice.State.CANCELLED or (
        notice.event is not None and notice.kind == "goal" and goal_superseded(notice.event)
    ):
        return _finish(chunk)  # disallowed meanwhile: its correction takes over
    if notice.kind == DIGEST.name:
        targets, message = digests.digest_targets(notice, chunk)
        held_back = 0
    elif notice.kind == "points":
        targets, message = personal.points_targets(notice, chunk)
        held_back = 0
    else:
        found = recipients(notice, chunk)
        targets = _by_rules(notice, found)
        if notice.corrects_id:
            targets = _only_reached(notice, targets)
        held_back = len(found) - len(targets)
        one = message_of(notice)
        message = lambda _: one  # noqa: E731
    report = sender().send(notice.pk, targets, message)
    if report.gone:
        Device.objects.filter(pk__in=report.gone).delete()
        metrics.PUSH_PRUNED.inc(len(report.gone))
    NoticeChunk.objects.filter(pk=chunk.pk).update(
        sent=F("sent") + report.sent,
        pruned=F("pruned") + len(report.gone),
        failed=F("failed") + report.failed,
        skipped=F("skipped") + report.skipped + held_back,
    )
    if report.retry and chunk.attempts < settings.PUSH_MAX_ATTEMPTS:
        NoticeChunk.objects.filter(pk=chunk.pk).update(attempts=F("attempts") + 1)
        return ChunkResult(_backoff(chunk.attempts, report.retry_after, report.breaker), None)
    if report.retry:
        logger.error(
            "chunk %s gave up on %s devices after %s attempts",
            chunk.pk,
            report.retry,
            chunk.attempts,
        )
        NoticeChunk.objects.filter(pk=chunk.pk).update(failed=F("failed") + report.retry)
    return _finish(chunk)


def _backoff(attempt: int, retry_after: float, breaker: float) -> float:
    """Exponential backoff with full jitter, never sooner than the service asked."""
    ceiling = min(settings.PUSH_BACKOFF_CAP, settings.PUSH_BACKOFF_BASE * 2**attempt)
    return max(retry_after, breaker, random.uniform(0, ceiling))


def _finish(chunk: NoticeChunk) -> ChunkResult:
    with transaction.atomic():
        updated = NoticeChunk.objects.filter(pk=chunk.pk).exclude(state=NoticeChunk.State.DONE)
        if not updated.update(state=NoticeChunk.State.DONE):
            return ChunkResult(None, None)
        notice = Notice.objects.select_for_update().get(pk=chunk.notice_id)
        open_chunks = notice.chunks.exclude(state=NoticeChunk.State.DONE).exists()
        if open_chunks or notice.state != Notice.State.SENDING:
            return ChunkResult(None, None)
        notice.state, notice.finished_at = Notice.State.DONE, timezone.now()
        notice.save(update_fields=["state", "finished_at"])
    lag = (notice.finished_at - notice.send_after).total_seconds()
    metrics.PUSH_NOTICE_SECONDS.labels(notice.kind).observe(max(lag, 0.0))
    return ChunkResult(None, notice.pk)


def stale_chunks(older_than: dt.timedelta | None = None) -> list[int]:
    """Chunks no worker has touched for PUSH_STALE_SECONDS (a killed worker, a lost
    message): the reconciler sends them again; claims keep it from sending twice."""
    default = dt.timedelta(seconds=settings.PUSH_STALE_SECONDS)
    age = default if older_than is None else older_than
    since = timezone.now() - age
    stale = NoticeChunk.objects.filter(state=NoticeChunk.State.PENDING, updated_at__lt=since)
    return list(stale.values_list("pk", flat=True)[:500])
