"""Boards lost with Redis are detected and rebuilt once, never shown empty; a league owner
is on their own board from the start; boards equal the database after every operation."""

import pytest

from core.redis import client as redis_client
from predictions import leaderboard
from predictions.services import league_create
from predictions.tasks import leaderboard_rebuild_task
from tests.conftest import queued_tasks, run_concurrently, token_client
from tests.predictions.conftest import settle

pytestmark = pytest.mark.django_db

BOARD = "/api/v1/leaderboards/global/"


def test_lost_boards_answer_503_start_one_rebuild_then_match_the_database(
    finished, fans, api, broker
):
    match, *_ = finished
    settle(match)
    redis_client().flushdb()  # Redis restarted without its data

    first = api.get(BOARD)
    second = api.get(BOARD)

    assert first.status_code == second.status_code == 503
    assert first["Retry-After"] and first.json()["code"] == "unavailable"
    assert queued_tasks(broker, "settlement") == ["predictions.tasks.leaderboard_rebuild_task"]

    leaderboard_rebuild_task.run()  # what the settlement worker does with it

    board = api.get(BOARD)
    assert board.status_code == 200 and board.json()["size"] == 4
    assert leaderboard.check_all() == []


@pytest.mark.django_db(transaction=True)
def test_a_read_storm_on_lost_boards_queues_a_single_rebuild(api, broker):
    redis_client().flushdb()

    statuses = run_concurrently(lambda: api.get(BOARD).status_code, 20)

    assert statuses == [503] * 20
    assert len(queued_tasks(broker, "settlement")) == 1


def test_a_league_owner_is_on_their_board_at_once(fans, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        league = league_create(owner=fans[0], name="Office")

    board = token_client(fans[0]).get(f"/api/v1/leaderboards/league/{league.pk}/").json()

    assert [e["user_id"] for e in board["top"]] == [fans[0].pk]
    assert leaderboard.check_all() == []
