"""Replay a loaded match through the signed provider feed, in scaled real time.

The replay is a new match between the same teams, kicking off now (slug with today's date),
fed event by event over HTTP exactly as a provider would: signed, numbered per match, one
request per event. `chaos` adds what real feeds do: a goal that VAR disallows, a re-sent
event and two events that arrive in the wrong order.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from matches import feed, replay_centre, services
from matches.models import GOAL_KINDS, LIVE_STATUSES, EventKind, Match, MatchEvent, MatchStatus

SHOOTOUT_KICK_SECONDS = 40  # match-clock seconds between shootout kicks


@dataclass
class Planned:
    clock: float  # match-clock seconds from kick-off
    event: dict[str, Any]


@dataclass
class Replay:
    match: Match
    plan: list[Planned] = field(default_factory=list)


def replay_create(*, source: Match, lead_seconds: float = 0) -> Match:
    """A fresh scheduled copy of `source`, kicking off in `lead_seconds` (predictions are open
    until then). An earlier copy of the same day is replaced, unless fans predicted on it."""
    now = timezone.now() + dt.timedelta(seconds=lead_seconds)
    slug = services.match_slug(home=source.home, away=source.away, date=now.date())
    if slug == source.slug:
        raise services.MatchRuleError("cannot replay a match over itself")
    with transaction.atomic():
        return services.match_copy(source=source, kickoff=now, slug=_free_slug(slug))


def _free_slug(slug: str) -> str:
    """`slug`, freed by deleting the earlier replay under it; or the next free `slug-2`,
    `slug-3`, ... when that replay was predicted on: its points are in fans' totals, so the
    database protects it (deleting it would leave the leaderboards off). Such a replay left
    in play (its simulator was stopped) is abandoned, so it does not stay live for ever."""
    for n in itertools.count(1):
        candidate = slug if n == 1 else f"{slug}-{n}"
        try:
            with transaction.atomic():
                Match.objects.filter(slug=candidate).delete()
        except ProtectedError:
            _abandon_if_live(candidate)
            continue
        return candidate
    raise AssertionError("unreachable")


def _abandon_if_live(slug: str) -> None:
    match = Match.objects.filter(slug=slug, status__in=LIVE_STATUSES).first()
    if match is not None:
        with contextlib.suppress(services.MatchRuleError):
            services.match_change_status(match=match, status=MatchStatus.ABANDONED)


def _feed_fields(event: MatchEvent, ids: dict[int, str]) -> dict[str, Any]:
    if event.status:
        return {"kind": "status", "status": event.status, "minute": event.minute}
    fields: dict[str, Any] = {"kind": event.kind, "minute": event.minute}
    if event.kind in GOAL_KINDS and event.supersedes_id:
        fields["kind"] = "goal_corrected"
    if event.supersedes_id:
        fields["target"] = ids[event.supersedes_id]
    if event.team:
        fields["team"] = event.team.code
    if event.player:
        fields["player"] = event.player.name
    if event.stoppage:
        fields["stoppage"] = event.stoppage
    if event.scored is not None:
        fields["scored"] = event.scored
    if event.kind == EventKind.POSSESSION:
        fields["value"] = int(event.detail)
    elif event.detail:
        fields["detail"] = event.detail
    return {k: v for k, v in fields.items() if v is not None}


def _clock(event: MatchEvent, previous: float, kicks: int) -> float:
    if event.kind == EventKind.SHOOTOUT_KICK:
        return 120 * 60 + (kicks + 1) * SHOOTOUT_KICK_SECONDS
    if event.minute is None:
        return previous
    return max(previous, (event.minute + event.stoppage) * 60.0)


def replay_plan(*, source: Match, replay: Match) -> list[Planned]:
    """The provider events of `source`'s timeline, addressed to `replay`, numbered from 1."""
    timeline = source.events.select_related("team", "player", "supersedes").order_by("seq")
    ids: dict[int, str] = {}
    plan: list[Planned] = []
    clock, kicks = 0.0, 0
    for number, event in enumerate(timeline, start=1):
        ids[event.pk] = f"{replay.slug}-{number}"
        clock = _clock(event, clock, kicks)
        kicks += event.kind == EventKind.SHOOTOUT_KICK
        body = {"id": ids[event.pk], "seq": number, "match": replay.slug}
        plan.append(Planned(clock, {**body, **_feed_fields(event, ids)}))
    return _with_centre(plan, replay_centre.centre_extras(source, list(timeline)), replay.slug)


def _with_centre(
    plan: list[Planned], extras: list[replay_centre.Extra], slug: str
) -> list[Planned]:
    """The plan with the match centre's events in their places: line-ups before kick-off
    (negative clock: sent at once), the rest at their minute within their period's window
    of the plan (a period's events go between its start and the status change ending it);
    then numbered again."""
    windows = _period_windows(plan)
    placed = []
    for n, extra in enumerate(extras, start=1):
        event = {"id": f"{slug}-c{n}", "seq": 0, "match": slug, **extra.event}
        if extra.period == 0:
            placed.append(Planned(-1.0 - (len(extras) - n) * 1e-3, event))
            continue
        if extra.period not in windows:
            continue
        start, end = windows[extra.period]
        placed.append(Planned(min(max(extra.minute * 60.0, start + 0.5), end - 0.5), event))
    merged = sorted([*plan, *placed], key=lambda p: p.clock)  # stable: the plan's order stays
    for number, planned in enumerate(merged, start=1):
        planned.event["seq"] = number
    return merged


def _period_windows(plan: list[Planned]) -> dict[int, tuple[float, float]]:
    """Each played period's (start, end) on the plan's clock: from the status that starts
    it to the next status change."""
    windows: dict[int, tuple[float, float]] = {}
    current: tuple[int, float] | None = None
    for planned in plan:
        status = planned.event.get("status")
        if not status:
            continue
        if current is not None:
            windows[current[0]] = (current[1], planned.clock)
            current = None
        if status in replay_centre.PERIOD_OF_STATUS:
            current = (replay_centre.PERIOD_OF_STATUS[status], planned.clock)
    if current is not None:
        windows[current[0]] = (current[1], current[1] + 45 * 60)
    return windows


def add_chaos(plan: list[Planned], *, home_code: str) -> list[Planned]:
    """Insert a goal that VAR disallows a minute later, re-send an event and swap two, then
    renumber so the provider's sequence stays contiguous."""
    first_goal = next(i for i, p in enumerate(plan) if p.event["kind"] in GOAL_KINDS)
    at = plan[first_goal].clock
    slug = plan[0].event["match"]
    minute = max(1, int(at // 60) - 1)
    common = {"match": slug, "minute": minute}
    phantom = {**common, "id": f"{slug}-var", "kind": "goal", "team": home_code}
    var = {**common, "id": f"{slug}-var-check", "kind": "goal_disallowed", "target": f"{slug}-var"}
    var["detail"] = "VAR: offside"
    injected = [Planned(at - 90, phantom), Planned(at - 60, var)]
    chaotic = [*plan[:first_goal], *injected, *plan[first_goal:]]
    for number, planned in enumerate(chaotic, start=1):
        planned.event["seq"] = number
    duplicate = Planned(chaotic[first_goal + 2].clock + 1, dict(chaotic[first_goal + 2].event))
    chaotic.insert(first_goal + 4, duplicate)
    swap = first_goal + 5
    if swap + 1 < len(chaotic):
        chaotic[swap], chaotic[swap + 1] = chaotic[swap + 1], chaotic[swap]
    return chaotic


def post_event(*, base_url: str, provider: str, event: dict[str, Any]) -> int:
    return post_events(base_url=base_url, provider=provider, events=[event])


def post_events(*, base_url: str, provider: str, events: list[dict[str, Any]]) -> int:
    """POST a batch to the feed, signed; retries a few times on connection errors. Returns
    the HTTP status."""
    body = json.dumps({"events": events}).encode()
    timestamp = int(time.time())
    signature = feed.feed_sign(
        secret=settings.FEED_PROVIDERS[provider], timestamp=timestamp, body=body
    )
    request = urllib.request.Request(
        f"{base_url.rstrip('/')}/api/v1/feed/events",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            feed.PROVIDER_HEADER: provider,
            feed.TIMESTAMP_HEADER: str(timestamp),
            feed.SIGNATURE_HEADER: signature,
        },
    )
    for attempt in range(5):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(0.5 * (attempt + 1))
    raise ConnectionError(f"feed at {base_url} unreachable")


def run(
    plan: list[Planned],
    *,
    speed: float,
    send: Callable[[dict[str, Any]], int],
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[tuple[Planned, int]]:
    """Send the planned events at `speed` times real time; yields each with its HTTP status."""
    started = time.monotonic()
    for planned in plan:
        delay = planned.clock / speed - (time.monotonic() - started)
        if delay > 0:
            sleep(delay)
        yield planned, send(planned.event)
