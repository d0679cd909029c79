import pytest
from django.contrib.auth.models import User

from core.redis import client as redis_client
from predictions import settlement
from predictions.models import Kind, UserScore
from tests.factories import make_fan, make_player
from tests.predictions.helpers import play, predict


@pytest.fixture
def fans(db) -> list[User]:
    return [make_fan(f"fan{n}", password=f"pw-fan-{n}") for n in range(1, 5)]


@pytest.fixture(autouse=True)
def clean_boards(db):
    from predictions import leaderboard

    redis_client().flushdb()
    # Empty database, empty boards: consistent, so marked built (a lost board is tested on
    # its own in tests/predictions/test_leaderboard_rebuild.py).
    leaderboard.mark_built()


def settle(match) -> None:
    """Run a whole settlement in this process (Celery runs the same calls in workers)."""
    _, chunks = settlement.settlement_begin(match_id=match.pk)
    for chunk_id in chunks:
        settlement.settlement_chunk(chunk_id=chunk_id)


def totals() -> dict[int, int]:
    return dict(UserScore.objects.values_list("user_id", "points"))


@pytest.fixture
def finished(match, home, away, fans):
    """ARG 2-1 FRA; fan1 exact, fan2 right winner, fan3 wrong everything, fan4 first scorer."""
    scorer = make_player(home, "Lionel Messi")
    other = make_player(home, "Julián Álvarez")
    predict(fans[0], match, Kind.SCORE, home_goals=2, away_goals=1)
    predict(fans[1], match, Kind.WINNER, outcome="H")
    predict(fans[2], match, Kind.SCORE, home_goals=0, away_goals=3)
    predict(fans[3], match, Kind.FIRST_SCORER, player=scorer)
    predict(fans[3], match, Kind.POSSESSION, band=3)
    play(
        match,
        [(home, 10, scorer, "goal"), (away, 50, None, "goal"), (home, 80, other, "goal")],
        possession=52,
    )
    match.refresh_from_db()
    return match, scorer, other
