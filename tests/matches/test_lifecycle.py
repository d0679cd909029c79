"""The fixture lifecycle: suspended and resumed, postponed and delayed kick-offs (the lock
moves with them), abandoned and replayed. Each is a service, in the timeline, on the wire."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from matches import live
from matches.models import EventKind, Match, MatchStatus
from matches.services import (
    MatchRuleError,
    match_change_status,
    match_move_kickoff,
    match_record_goal,
    match_schedule_replay,
)
from predictions.services import Pick, prediction_locked, prediction_submit

S = MatchStatus
pytestmark = pytest.mark.django_db


def last_frame(match: Match) -> dict:
    event = match.events.order_by("-seq").first()
    frame = live.frames_for(match, [event])[0]
    return {"t": frame.t, **(frame.d or {})}


def test_a_suspended_match_resumes_where_it_stopped(match, home):
    match_change_status(match=match, status=S.FIRST_HALF)
    match_record_goal(match=match, team=home, minute=30)
    started = match.started_at

    match_change_status(match=match, status=S.SUSPENDED, minute=33)
    assert match.is_live and last_frame(match)["st"] == "suspended"
    with pytest.raises(MatchRuleError, match="resumes as first_half or is abandoned"):
        match_change_status(match=match, status=S.SECOND_HALF)
    resumed = match_change_status(match=match, status=S.FIRST_HALF, minute=33)

    assert resumed.event.kind == EventKind.STATUS  # not a second kick-off
    assert match.status == S.FIRST_HALF and match.minute == 33 and match.started_at == started
    assert (match.home_score, match.away_score) == (1, 0)
    match_change_status(match=match, status=S.HALF_TIME, minute=45)  # play goes on


def test_a_suspended_match_can_be_abandoned_which_voids_it(match):
    match_change_status(match=match, status=S.FIRST_HALF)
    match_change_status(match=match, status=S.SUSPENDED, minute=60)

    match_change_status(match=match, status=S.ABANDONED)

    assert match.status == S.ABANDONED and match.result_version == 1


def test_a_postponed_match_stays_open_and_locks_at_its_new_kickoff(match, fan):
    match_change_status(match=match, status=S.POSTPONED)
    Match.objects.filter(pk=match.pk).update(kickoff=timezone.now() - dt.timedelta(hours=1))
    match.refresh_from_db()
    assert not prediction_locked(match)  # the old kick-off passed: still open
    prediction_submit(user=fan, match=match, kind="winner", pick=Pick(outcome="H"))

    new_kickoff = timezone.now() + dt.timedelta(days=7)
    match_move_kickoff(match=match, kickoff=new_kickoff, reason="storm")

    assert match.status == S.SCHEDULED and match.kickoff == new_kickoff
    assert last_frame(match) == {
        "t": "status",
        "st": "scheduled",
        "ko": new_kickoff.strftime("%Y-%m-%dT%H:%MZ"),
        "r": "storm",
    }
    assert not prediction_locked(match)
    assert prediction_locked(match, now=new_kickoff)


def test_a_delayed_kickoff_moves_the_lock_and_a_started_match_cannot_move(match):
    Match.objects.filter(pk=match.pk).update(kickoff=timezone.now() - dt.timedelta(minutes=1))
    match.refresh_from_db()
    assert prediction_locked(match)

    match_move_kickoff(match=match, kickoff=timezone.now() + dt.timedelta(minutes=30))
    assert not prediction_locked(match)
    match_change_status(match=match, status=S.FIRST_HALF)

    with pytest.raises(MatchRuleError, match="kick-off cannot move"):
        match_move_kickoff(match=match, kickoff=timezone.now() + dt.timedelta(hours=1))


def test_an_abandoned_match_is_replayed_as_a_new_match_once(match):
    match_change_status(match=match, status=S.FIRST_HALF)
    with pytest.raises(MatchRuleError, match="only an abandoned or cancelled match"):
        match_schedule_replay(match=match, kickoff=timezone.now() + dt.timedelta(days=3))
    match_change_status(match=match, status=S.ABANDONED)
    kickoff = dt.datetime(2026, 12, 28, 15, tzinfo=dt.UTC)

    replay = match_schedule_replay(match=match, kickoff=kickoff)

    assert replay.replay_of == match and replay.status == S.SCHEDULED
    assert replay.slug == "arg-vs-fra-2026-12-28" and replay.stage == match.stage
    assert last_frame(match) == {"t": "status", "st": "abandoned", "rp": replay.slug, "s": [0, 0]}
    with pytest.raises(MatchRuleError, match="already has a replay"):
        match_schedule_replay(match=match, kickoff=kickoff)


def test_operators_move_kickoffs_and_schedule_replays_from_the_console(operator_user, match):
    client = Client()
    client.force_login(operator_user)
    url = f"/admin/matches/match/{match.pk}/console/"

    client.post(url, {"action": "kickoff", "kickoff-kickoff": "2026-12-18 16:30"})
    match.refresh_from_db()
    assert match.kickoff == dt.datetime(2026, 12, 18, 16, 30, tzinfo=dt.UTC)
    client.post(url, {"action": "status", "status-status": "first_half", "status-minute": 0})
    refused = client.post(
        url, {"action": "kickoff", "kickoff-kickoff": "2026-12-18 18:00"}, follow=True
    )
    assert "kick-off cannot move" in refused.content.decode()
    client.post(url, {"action": "status", "status-status": "abandoned"})
    client.post(url, {"action": "replay", "replay-kickoff": "2026-12-21 15:00"})
    assert Match.objects.get(replay_of=match).slug == "arg-vs-fra-2026-12-21"
    # The change form refuses to move a started match's kick-off with a form error.
    change = client.post(
        f"/admin/matches/match/{match.pk}/change/",
        {"kickoff_0": "2026-12-30", "kickoff_1": "15:00", "venue": "", "group": ""},
    )
    assert change.status_code == 200 and "kick-off cannot move" in change.content.decode()
