import pytest

from matches.models import EventKind, Match, MatchEvent, MatchStatus
from matches.services import (
    MatchRuleError,
    Source,
    match_change_status,
    match_correct_goal,
    match_disallow_goal,
    match_record_event,
    match_record_goal,
    match_record_shootout_kick,
    match_score_consistent,
)
from tests.factories import make_player

S = MatchStatus


def play_to(match, *statuses):
    minutes = {S.FIRST_HALF: 0, S.HALF_TIME: 45, S.SECOND_HALF: 45, S.EXTRA_TIME: 90}
    for status in statuses:
        match_change_status(match=match, status=status, minute=minutes.get(status, 90))


def test_kickoff_assigns_seq_and_status(match):
    recorded = match_change_status(match=match, status=S.FIRST_HALF)

    assert recorded.created
    assert recorded.event.kind == EventKind.KICKOFF and recorded.event.seq == 1
    assert match.status == S.FIRST_HALF and match.seq == 1 and match.started_at is not None


def test_each_event_takes_the_next_seq(match, home, away):
    play_to(match, S.FIRST_HALF)
    match_record_goal(match=match, team=home, minute=10)
    match_record_event(match=match, kind=EventKind.YELLOW, team=away, minute=12)
    match_record_goal(match=match, team=away, minute=30)

    assert list(match.events.values_list("seq", flat=True)) == [1, 2, 3, 4]
    assert match.seq == 4
    assert (match.home_score, match.away_score) == (1, 1)


@pytest.mark.parametrize(
    "path, target",
    [
        ([], S.SECOND_HALF),
        ([S.FIRST_HALF], S.FINISHED),
        ([S.FIRST_HALF, S.HALF_TIME], S.FIRST_HALF),
        ([S.FIRST_HALF, S.HALF_TIME, S.SECOND_HALF, S.FINISHED], S.SECOND_HALF),
        ([S.CANCELLED], S.SCHEDULED),
    ],
)
def test_invalid_transitions_are_refused_and_change_nothing(match, path, target):
    play_to(match, *path)
    seq_before = match.seq

    with pytest.raises(MatchRuleError):
        match_change_status(match=match, status=target)

    match.refresh_from_db()
    assert match.seq == seq_before and match.events.count() == seq_before


def test_full_time_bumps_result_version(match):
    play_to(match, S.FIRST_HALF, S.HALF_TIME, S.SECOND_HALF, S.FINISHED)

    assert match.status == S.FINISHED and match.result_version == 1


def test_group_match_cannot_go_to_extra_time(match):
    play_to(match, S.FIRST_HALF, S.HALF_TIME, S.SECOND_HALF)

    with pytest.raises(MatchRuleError, match="knockout"):
        match_change_status(match=match, status=S.EXTRA_TIME)


def test_knockout_cannot_end_level_and_shootout_decides(knockout_match, home, away):
    m = knockout_match
    play_to(m, S.FIRST_HALF, S.HALF_TIME, S.SECOND_HALF)
    with pytest.raises(MatchRuleError, match="cannot end level"):
        match_change_status(match=m, status=S.FINISHED)
    play_to(m, S.EXTRA_TIME, S.PENALTIES)
    match_record_shootout_kick(match=m, team=home, scored=True)
    match_record_shootout_kick(match=m, team=away, scored=True)
    with pytest.raises(MatchRuleError, match="shootout is level"):
        match_change_status(match=m, status=S.FINISHED)
    match_record_shootout_kick(match=m, team=home, scored=True)
    match_record_shootout_kick(match=m, team=away, scored=False)

    match_change_status(match=m, status=S.FINISHED)

    assert (m.home_pens, m.away_pens, m.status) == (2, 1, S.FINISHED)


def test_goal_needs_ball_in_play(match, home):
    with pytest.raises(MatchRuleError, match="in play"):
        match_record_goal(match=match, team=home, minute=3)
    play_to(match, S.FIRST_HALF, S.HALF_TIME)
    with pytest.raises(MatchRuleError, match="in play"):
        match_record_goal(match=match, team=home, minute=45)
    assert match.events.filter(kind=EventKind.GOAL).count() == 0


@pytest.mark.parametrize("minute, stoppage", [(60, 0), (30, 2), (45, 40)])
def test_implausible_minutes_are_refused(match, home, minute, stoppage):
    play_to(match, S.FIRST_HALF)

    with pytest.raises(MatchRuleError):
        match_record_goal(match=match, team=home, minute=minute, stoppage=stoppage)


def test_stoppage_time_goal(match, home):
    play_to(match, S.FIRST_HALF)

    event = match_record_goal(match=match, team=home, minute=45, stoppage=3).event

    assert event.clock == "45+3'" and event.period == 1


def test_team_and_player_must_belong_to_the_match(match, home, away):
    play_to(match, S.FIRST_HALF)
    other = make_player(away)
    stranger_team = type(home).objects.create(name="Brazil", code="BRA")

    with pytest.raises(MatchRuleError):
        match_record_goal(match=match, team=stranger_team, minute=5)
    with pytest.raises(MatchRuleError, match="does not play"):
        match_record_goal(match=match, team=home, player=other, minute=5)


def test_own_goal_is_credited_to_the_other_side(match, home, away):
    play_to(match, S.FIRST_HALF)
    defender = make_player(away)

    match_record_goal(match=match, team=home, player=defender, minute=20, kind=EventKind.OWN_GOAL)

    assert (match.home_score, match.away_score) == (1, 0)


def test_disallowed_goal_no_longer_counts(match, home):
    play_to(match, S.FIRST_HALF)
    goal = match_record_goal(match=match, team=home, minute=20).event

    correction = match_disallow_goal(match=match, goal=goal, reason="offside").event

    assert correction.supersedes_id == goal.pk and correction.seq == goal.seq + 1
    assert (match.home_score, match.away_score) == (0, 0)
    assert match_score_consistent(match)
    with pytest.raises(MatchRuleError, match="already been corrected"):
        match_disallow_goal(match=match, goal=goal)


def test_correction_after_full_time_bumps_result_version(match, home, away):
    play_to(match, S.FIRST_HALF)
    scorer, other = make_player(home), make_player(home)
    goal = match_record_goal(match=match, team=home, player=scorer, minute=20).event
    play_to(match, S.HALF_TIME, S.SECOND_HALF, S.FINISHED)

    new = match_correct_goal(match=match, goal=goal, player=other).event

    assert match.result_version == 2
    assert new.player == other and new.supersedes == goal
    assert (match.home_score, match.away_score) == (1, 0)


def test_provider_event_id_is_applied_once(match, home):
    play_to(match, S.FIRST_HALF)
    first = match_record_goal(match=match, team=home, minute=9, source=Source("p", "g1"))

    again = match_record_goal(match=match, team=home, minute=9, source=Source("p", "g1"))

    assert first.created and not again.created and again.event.pk == first.event.pk
    assert match.home_score == 1 and match.seq == 2


def test_same_event_id_from_two_providers_are_distinct(match, home):
    play_to(match, S.FIRST_HALF)
    match_record_goal(match=match, team=home, minute=9, source=Source("a", "1"))
    match_record_goal(match=match, team=home, minute=10, source=Source("b", "1"))

    assert match.home_score == 2


def test_side_effects_run_only_after_commit(match, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        match_change_status(match=match, status=S.FIRST_HALF)

    # The frames' publish, the schedule's, the notifications task and the provisional
    # standings task.
    assert len(callbacks) == 4


def test_failed_change_schedules_no_side_effect(match, home, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(MatchRuleError):
        match_record_goal(match=match, team=home, minute=3)

    assert callbacks == []
    assert not MatchEvent.objects.exists()


def test_scores_are_never_negative_in_the_database(match):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        type(match).objects.filter(pk=match.pk).update(home_score=-1)


def test_a_replay_with_a_var_disallowed_goal_can_be_replaced(match, home):
    from matches import simulator

    replay = simulator.replay_create(source=match)
    match_change_status(match=replay, status=MatchStatus.FIRST_HALF)
    goal = match_record_goal(match=replay, team=home, minute=10).event
    match_disallow_goal(match=replay, goal=goal, reason="VAR: offside")

    again = simulator.replay_create(source=match)  # the demo's next loop, same day

    assert again.slug == replay.slug and again.pk != replay.pk
    assert not MatchEvent.objects.filter(match_id=replay.pk).exists()


def test_a_goal_emits_one_frame_with_the_new_score(match, home, capture_frames):
    match_change_status(match=match, status=MatchStatus.FIRST_HALF)

    with capture_frames() as frames:
        match_record_goal(match=match, team=home, minute=23)

    assert [(f.channel, f.t, f.seq, f.d) for f in frames] == [
        (f"match:{match.slug}", "goal", 2, {"tm": "ARG", "m": 23, "s": [1, 0]})
    ]


def test_a_rejected_change_emits_nothing(match, home, capture_frames):
    with capture_frames() as frames, pytest.raises(MatchRuleError):
        match_record_goal(match=match, team=home, minute=23)  # not kicked off

    assert frames == []


def test_a_disallowed_goal_emits_the_corrected_score(match, home, capture_frames):
    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    goal = match_record_goal(match=match, team=home, minute=10).event

    with capture_frames() as frames:
        match_disallow_goal(match=match, goal=goal, reason="VAR: offside")

    (frame,) = frames
    assert frame.t == "disallow" and frame.d["ref"] == goal.seq and frame.d["s"] == [0, 0]


def test_a_replay_with_a_lead_time_is_open_for_predictions(match):
    from django.utils import timezone

    from matches import simulator
    from predictions.services import prediction_locked

    replay = simulator.replay_create(source=match, lead_seconds=120)

    assert replay.kickoff > timezone.now() and not prediction_locked(replay)


def test_a_replay_fans_predicted_on_is_kept_and_the_next_takes_a_new_slug(match, fan):
    from django.db.models import ProtectedError

    from matches import simulator
    from predictions.models import Kind, Prediction

    first = simulator.replay_create(source=match)
    Prediction.objects.create(user=fan, match=first, kind=Kind.SCORE, home_goals=1, away_goals=0)

    second = simulator.replay_create(source=match)

    assert second.slug == f"{first.slug}-2"
    assert Match.objects.filter(pk=first.pk).exists()
    with pytest.raises(ProtectedError):
        first.delete()  # admin shows this as "cannot delete: protected objects"


def test_a_predicted_replay_left_in_play_is_abandoned_by_the_next_one(match, fan):
    from matches import simulator
    from predictions.models import Kind, Prediction

    stopped = simulator.replay_create(source=match)
    Prediction.objects.create(user=fan, match=stopped, kind=Kind.WINNER, outcome="H")
    match_change_status(match=stopped, status=S.FIRST_HALF)  # then its simulator was stopped

    simulator.replay_create(source=match)

    stopped.refresh_from_db()
    assert stopped.status == S.ABANDONED  # no longer listed as live
