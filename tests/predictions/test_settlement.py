import random

import pytest

from matches.models import EventKind
from matches.services import match_correct_goal
from predictions import leaderboard, scoring, settlement
from predictions.models import Kind, LeagueMember, Prediction, SettlementChunk
from predictions.services import league_create
from tests.conftest import run_concurrently
from tests.factories import make_player
from tests.predictions.conftest import settle, totals
from tests.predictions.helpers import play, predict


@pytest.mark.django_db
def test_settlement_scores_every_fan_and_boards_match(finished, fans):
    match, *_ = finished

    settle(match)

    assert totals() == {fans[0].pk: 10, fans[1].pk: 3, fans[2].pk: 0, fans[3].pk: 8}
    assert set(Prediction.objects.values_list("status", flat=True)) == {"settled"}
    assert leaderboard.check_all() == []
    assert [e.user_id for e in leaderboard.top("global", 2)] == [fans[0].pk, fans[3].pk]


@pytest.mark.django_db
def test_a_chunk_run_twice_changes_nothing(finished, fans):
    match, *_ = finished
    _, chunks = settlement.settlement_begin(match_id=match.pk)

    first = settlement.settlement_chunk(chunk_id=chunks[0])
    SettlementChunk.objects.filter(pk=chunks[0]).update(state="pending")  # as if redelivered
    again = settlement.settlement_chunk(chunk_id=chunks[0])

    assert first.rows == 5 and again.rows == 0
    assert totals()[fans[0].pk] == 10
    assert leaderboard.check_all() == []


@pytest.mark.django_db
def test_starting_twice_makes_one_run(finished):
    match, *_ = finished

    run1, chunks1 = settlement.settlement_begin(match_id=match.pk)
    run2, chunks2 = settlement.settlement_begin(match_id=match.pk)

    assert run1.pk == run2.pk and chunks1 == chunks2


@pytest.mark.django_db(transaction=True)
def test_the_same_chunk_concurrently_scores_once(finished, fans):
    match, *_ = finished
    _, chunks = settlement.settlement_begin(match_id=match.pk)

    outcomes = run_concurrently(lambda: settlement.settlement_chunk(chunk_id=chunks[0]), 3)

    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert totals() == {fans[0].pk: 10, fans[1].pk: 3, fans[2].pk: 0, fans[3].pk: 8}
    assert leaderboard.check_all() == []


@pytest.mark.django_db
def test_correction_moves_only_the_difference(finished, fans):
    match, scorer, other = finished
    settle(match)
    first_goal = match.events.get(kind=EventKind.GOAL, player=scorer)

    match_correct_goal(match=match, goal=first_goal, player=other)  # Álvarez scored first
    settle(match)

    assert match.result_version == 2
    assert totals() == {fans[0].pk: 10, fans[1].pk: 3, fans[2].pk: 0, fans[3].pk: 3}
    assert leaderboard.check_all() == []
    assert leaderboard.top("global", 1)[0].user_id == fans[0].pk


@pytest.mark.django_db
def test_an_old_run_after_a_newer_one_changes_nothing(finished, fans):
    match, scorer, other = finished
    _, old_chunks = settlement.settlement_begin(match_id=match.pk)
    match_correct_goal(match=match, goal=match.events.get(player=scorer), player=other)
    settle(match)

    settlement.settlement_chunk(chunk_id=old_chunks[0])  # the first run's late chunk

    assert totals()[fans[3].pk] == 3 and leaderboard.check_all() == []


@pytest.mark.django_db
def test_boards_rebuild_from_the_database(finished, fans):
    match, *_ = finished
    league = league_create(owner=fans[0], name="Office")
    LeagueMember.objects.create(league=league, user=fans[3])
    settle(match)
    leaderboard.drop()

    counts = leaderboard.rebuild_all()

    assert counts == {"global": 4, "match": 4, "league": 2}
    assert leaderboard.check_all() == []


@pytest.mark.django_db
def test_league_boards_follow_settlement(finished, fans):
    match, *_ = finished
    league = league_create(owner=fans[1], name="Pub")
    LeagueMember.objects.create(league=league, user=fans[3])

    settle(match)

    assert leaderboard.all_points(f"league:{league.pk}") == {fans[1].pk: 3, fans[3].pk: 8}


@pytest.mark.django_db
def test_sql_scoring_equals_the_python_rules(match, home, away, django_user_model):
    scorer = make_player(home)
    users = [django_user_model.objects.create(username=f"u{n}") for n in range(60)]
    rng = random.Random(7)
    for user in users:
        predict(user, match, Kind.SCORE, home_goals=rng.randint(0, 3), away_goals=rng.randint(0, 3))
        predict(user, match, Kind.WINNER, outcome=rng.choice("HDA"))
        predict(user, match, Kind.POSSESSION, band=rng.randint(1, 4))
        if rng.random() < 0.5:
            predict(user, match, Kind.FIRST_SCORER, player=scorer)
        else:
            predict(user, match, Kind.FIRST_SCORER, no_goal=True)
    play(match, [(home, 20, scorer, "goal"), (away, 70, None, "goal")], possession=61)

    settle(match)

    match.refresh_from_db()
    rules = scoring.rules_for(match)
    result = scoring.match_result(match, rules)
    for prediction in Prediction.objects.all():
        assert prediction.points == scoring.points_for(prediction, result, rules)


@pytest.mark.django_db
def test_lost_chunks_are_found_by_the_reconciler(finished):
    import datetime as dt

    match, *_ = finished
    _, chunks = settlement.settlement_begin(match_id=match.pk)

    stale = settlement.settlement_stale_chunks(older_than=dt.timedelta(seconds=-1))

    assert stale == chunks
    assert settlement.settlement_unstarted_matches() == []


@pytest.mark.django_db
def test_a_completed_run_announces_boards_and_each_fans_points(finished, fans, capture_frames):
    from predictions import announce
    from predictions.models import SettlementRun

    match, *_ = finished
    settle(match)
    run = SettlementRun.objects.get(match=match)

    with capture_frames() as frames:
        for chunk_id in announce.run_boards(run_id=run.pk):
            announce.chunk_fans(chunk_id=chunk_id)

    boards = [f for f in frames if f.t == "lb"]
    points = {f.channel: f.d for f in frames if f.t == "points"}
    assert [f.channel for f in boards] == ["leaderboard:global", f"leaderboard:match:{match.slug}"]
    assert points[f"user:{fans[0].pk}"] == {
        "m": match.slug,
        "pts": totals()[fans[0].pk],
        "tot": totals()[fans[0].pk],
        "rank": 1,
    }
