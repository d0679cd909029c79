import base64
import datetime as dt
import json
import time

import pytest
from django.utils import timezone

from matches import feed
from matches.models import EventKind, FeedEvent, MatchEvent, MatchStatus
from matches.tasks import feed_reconcile_task
from tests.conftest import queued_tasks
from tests.feedclient import feed_event, signed_headers

pytestmark = pytest.mark.django_db
URL = "/api/v1/feed/events"


def post(client, body: bytes, **headers):
    return client.post(URL, data=body, content_type="application/json", **headers)


def batch(*events) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def test_valid_batch_is_stored_before_202_and_a_wake_up_queued(client, match, broker):
    body = batch(feed_event(match, 1, "status", status="first_half"))

    response = post(client, body, **signed_headers(body))

    assert response.status_code == 202 and response.json() == {"accepted": 1}
    stored = FeedEvent.objects.get()
    assert (stored.provider_seq, stored.state) == (1, "pending")
    assert queued_tasks(broker, "events") == ["matches.tasks.feed_drain_task"]
    wake = json.loads(broker.lindex("events", 0))
    assert json.loads(base64.b64decode(wake["body"]))[0] == ["demo", match.pk]


def test_the_reconciler_wakes_stored_events_whose_wake_up_was_lost(match, broker):
    feed.feed_store(provider="demo", events=[feed_event(match, 1, "goal", team="ARG")])
    assert feed.feed_waiting() == []  # just stored: its own wake-up is still on its way
    FeedEvent.objects.update(received_at=timezone.now() - dt.timedelta(seconds=5))

    feed_reconcile_task.run()

    assert feed.feed_waiting() == [("demo", match.pk)]
    assert broker.llen("events") == 1


@pytest.mark.parametrize(
    "tamper, reason",
    [
        (lambda h: {**h, "HTTP_X_LIVESCORE_SIGNATURE": "sha256=" + "0" * 64}, "bad signature"),
        (lambda h: {**h, "HTTP_X_LIVESCORE_PROVIDER": "nobody"}, "unknown provider"),
        (lambda h: {k: v for k, v in h.items() if "SIGNATURE" not in k}, "bad signature"),
    ],
)
def test_bad_signatures_are_refused_and_nothing_is_queued(client, match, broker, tamper, reason):
    body = batch(feed_event(match, 1, "status", status="first_half"))

    response = post(client, body, **tamper(signed_headers(body)))

    assert response.status_code == 401 and reason in response.json()["detail"]
    assert broker.llen("events") == 0


def test_stale_timestamp_is_refused_even_with_a_valid_signature(client, match, broker):
    body = batch(feed_event(match, 1, "status", status="first_half"))
    old = int(time.time()) - feed.FRESHNESS_SECONDS - 5

    response = post(client, body, **signed_headers(body, timestamp=old))

    assert response.status_code == 401 and "freshness" in response.json()["detail"]
    assert broker.llen("events") == 0


@pytest.mark.parametrize(
    "body, field",
    [
        (b"not json", "detail"),
        (b'{"events": []}', "events"),
        (
            batch({"id": "x", "seq": 1, "match": "nope-vs-nope-2020-01-01", "kind": "goal"}),
            "events",
        ),
        (batch({"id": "x", "seq": 0, "match": "m", "kind": "goal"}), "events"),
        (batch({"id": "x", "seq": 2**31, "match": "m", "kind": "goal"}), "events"),
        (b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "detail"),
        (batch({"id": "x", "seq": 1, "match": "m", "kind": "dance"}), "events"),
    ],
)
def test_malformed_batches_get_400_and_nothing_is_queued(client, match, broker, body, field):
    response = post(client, body, **signed_headers(body))

    assert response.status_code == 400 and field in response.json()
    assert broker.llen("events") == 0
    assert not FeedEvent.objects.exists()


def test_a_batch_is_stored_whole_or_not_at_all(client, match, broker):
    good = feed_event(match, 1, "status", status="first_half")
    body = batch(good, {**good, "id": "y", "seq": 2**31})

    assert post(client, body, **signed_headers(body)).status_code == 400
    assert not FeedEvent.objects.exists()


def ingest(*events) -> None:
    """Store a batch and drain it in this process, as the feed view and the drain task do
    (the pipeline itself is tested with real workers in tests/integration)."""
    for match_id in feed.feed_store(provider="demo", events=[dict(e) for e in events]):
        feed.feed_drain(provider="demo", match_id=match_id)


def test_events_apply_in_provider_order_whatever_the_arrival(match):
    ingest(feed_event(match, 1, "status", status="first_half"))
    ingest(feed_event(match, 3, "goal", team="FRA", minute=20))  # arrives before 2
    assert match.events.count() == 1

    ingest(feed_event(match, 2, "goal", team="ARG", minute=10))

    goals = match.events.filter(kind=EventKind.GOAL).order_by("seq")
    assert [(g.team.code, g.minute) for g in goals] == [("ARG", 10), ("FRA", 20)]


def test_duplicates_change_nothing(match):
    ingest(feed_event(match, 1, "status", status="first_half"))
    goal = feed_event(match, 2, "goal", team="ARG", minute=10)
    ingest(goal)
    ingest(goal, goal)

    match.refresh_from_db()
    assert match.home_score == 1 and match.seq == 2
    assert FeedEvent.objects.count() == 2


def test_a_gap_is_skipped_after_the_timeout(match):
    ingest(feed_event(match, 1, "status", status="first_half"))
    ingest(feed_event(match, 3, "goal", team="ARG", minute=10))
    waited = timezone.now() - dt.timedelta(seconds=feed.GAP_TIMEOUT_SECONDS + 1)
    FeedEvent.objects.filter(provider_seq=3).update(received_at=waited)

    assert feed.feed_drain(provider="demo", match_id=match.pk) is False

    match.refresh_from_db()
    assert match.home_score == 1
    assert feed.feed_drain(provider="demo", match_id=match.pk) is False


def test_stale_sequence_numbers_are_skipped(match):
    ingest(feed_event(match, 1, "status", status="first_half"))
    ingest(feed_event(match, 1, "goal", team="ARG", minute=10, id_="other-id"))

    assert FeedEvent.objects.get(provider_event_id="other-id").state == "skipped"
    match.refresh_from_db()
    assert match.home_score == 0


def test_corrections_supersede_by_provider_id(match, home):
    ingest(
        feed_event(match, 1, "status", status="first_half"),
        feed_event(match, 2, "goal", team="ARG", minute=10, player="Lionel Messi"),
        feed_event(match, 3, "goal_corrected", target=f"{match.slug}-2", player="Julián Álvarez"),
        feed_event(match, 4, "goal_disallowed", target=f"{match.slug}-3", detail="VAR: handball"),
    )

    match.refresh_from_db()
    assert match.home_score == 0 and match.seq == 4
    corrected = MatchEvent.objects.get(seq=3)
    assert corrected.player.name == "Julián Álvarez" and corrected.supersedes.seq == 2


def test_rule_breaking_events_are_rejected_with_reason_and_do_not_block(match):
    ingest(
        feed_event(match, 1, "goal", team="ARG", minute=10),  # not kicked off yet
        feed_event(match, 2, "status", status="first_half"),
    )

    rejected = FeedEvent.objects.get(provider_seq=1)
    assert rejected.state == "rejected" and "in play" in rejected.error
    match.refresh_from_db()
    assert match.status == MatchStatus.FIRST_HALF and match.home_score == 0
