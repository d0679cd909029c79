"""Reactions to moments over REST: once per fan and moment, changed, taken back,
rate-limited, refused to a banned fan, counts for everybody; written to PostgreSQL in
batches and rebuilt from it after a Redis loss."""

import pytest
from rest_framework.test import APIClient

from chat.models import Sanction
from chat.services import room_for_match
from core.redis import client as redis_client
from matches.services import match_change_status, match_record_goal
from social import reactions
from social.models import Reaction
from tests.factories import make_fan

pytestmark = pytest.mark.django_db


@pytest.fixture
def goal(match, home):
    match_change_status(match=match, status="first_half")
    return match_record_goal(match=match, team=home, minute=23).event


@pytest.fixture(autouse=True)
def fresh_counts():
    redis = redis_client()
    for key in redis.scan_iter("rx:*"):
        redis.delete(key)
    yield


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def react(user, match, seq, kind="fire"):
    return api(user).put(
        f"/api/v1/matches/{match.slug}/moments/{seq}/reaction/", {"kind": kind}, format="json"
    )


def counts(match, user=None) -> dict[int, dict]:
    answer = api(user).get(f"/api/v1/matches/{match.slug}/reactions/")
    assert answer.status_code == 200
    return {m["seq"]: m for m in answer.json()}


def test_a_fan_reacts_once_per_moment_changes_it_and_takes_it_back(match, goal, fan):
    other = make_fan("other")
    assert react(fan, match, goal.seq).json() == {
        "seq": goal.seq,
        "counts": {"fire": 1},
        "mine": "fire",
    }
    assert react(fan, match, goal.seq).json()["counts"] == {"fire": 1}  # the same again: once
    react(other, match, goal.seq, "fire")
    assert react(fan, match, goal.seq, "clap").json()["counts"] == {"clap": 1, "fire": 1}
    moments = counts(match, fan)
    assert (
        moments[goal.seq]["counts"] == {"clap": 1, "fire": 1}
        and moments[goal.seq]["mine"] == "clap"
    )
    assert counts(match)[goal.seq]["mine"] is None  # anonymous fans see the counts
    gone = api(fan).delete(f"/api/v1/matches/{match.slug}/moments/{goal.seq}/reaction/")
    assert gone.json() == {"seq": goal.seq, "counts": {"fire": 1}, "mine": None}

    reactions.reactions_flush()
    assert list(Reaction.objects.values_list("user__username", "kind")) == [("other", "fire")]


@pytest.mark.parametrize(
    ("path_seq", "kind", "status", "reason"),
    [
        ("goal", "confetti", 400, "not a valid choice"),
        ("kickoff", "fire", 400, "fans react to goals"),
        (99, "fire", 404, "no event #99"),
    ],
)
def test_bad_reactions_get_a_reason_and_change_nothing(
    match, goal, fan, path_seq, kind, status, reason
):
    seq = {"goal": goal.seq, "kickoff": 1}.get(path_seq, path_seq)
    answer = react(fan, match, seq, kind)
    assert answer.status_code == status and reason in answer.content.decode()
    assert counts(match)[goal.seq]["counts"] == {}
    assert (
        api()
        .put(
            f"/api/v1/matches/{match.slug}/moments/{goal.seq}/reaction/",
            {"kind": "fire"},
            format="json",
        )
        .status_code
        == 401
    )


def test_a_fan_banned_from_the_matchs_room_cannot_react(match, goal, fan):
    Sanction.objects.create(user=fan, room=room_for_match(match.pk), kind="ban", reason="abuse")
    answer = react(fan, match, goal.seq)
    assert answer.status_code == 403 and "banned" in answer.json()["detail"]
    assert counts(match)[goal.seq]["counts"] == {}


def test_reactions_are_rate_limited_per_fan(match, goal, fan, settings):
    kinds = ["fire", "clap"] * 20
    answers = [react(fan, match, goal.seq, kind).status_code for kind in kinds]
    assert answers[:30] == [200] * 30 and answers[-1] == 429
    assert react(make_fan("calm"), match, goal.seq).status_code == 200  # per fan


def test_counts_are_rebuilt_from_postgresql_after_a_redis_loss(match, goal, fan):
    fans = [make_fan(f"f{n}") for n in range(5)]
    for n, user in enumerate(fans):
        react(user, match, goal.seq, "fire" if n % 2 else "heart")
    before = counts(match, fans[0])
    assert reactions.reactions_flush() == 5
    assert reactions.reactions_flush() == 0  # nothing queued twice

    redis = redis_client()
    for key in redis.scan_iter("rx:*"):
        redis.delete(key)  # Redis lost the hot state
    assert (
        counts(match, fans[0])
        == before
        == {
            **before,
            goal.seq: {"seq": goal.seq, "counts": {"fire": 2, "heart": 3}, "mine": "heart"},
        }
    )
    react(fans[0], match, goal.seq, "fire")  # and goes on from the rebuilt counts
    assert counts(match)[goal.seq]["counts"] == {"fire": 3, "heart": 2}


def test_a_flush_killed_before_its_trim_writes_the_same_result_again(match, goal, fan):
    react(fan, match, goal.seq, "fire")
    react(fan, match, goal.seq, "wow")
    batch = [r for r in redis_client().lrange(reactions.PENDING_KEY, 0, -1)]
    reactions.reactions_flush()
    redis_client().rpush(reactions.PENDING_KEY, *batch)  # the same batch again
    reactions.reactions_flush()
    assert list(Reaction.objects.values_list("kind", flat=True)) == ["wow"]
