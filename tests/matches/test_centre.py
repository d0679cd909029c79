"""The match centre: line-ups and statistics through the feed (validated, applied once, in
order), in the snapshot and in their frames, and the replayed final's centre."""

import json

import pytest

from matches import centre, feed, live, simulator
from matches.models import EventKind, FeedEvent, Match, MatchStatus
from matches.worldcup import worldcup_load
from tests.conftest import token_client
from tests.feedclient import feed_event, signed_headers

pytestmark = pytest.mark.django_db
URL = "/api/v1/feed/events"


def xi(prefix: str = "P", count: int = 11, first: int = 1) -> list[dict]:
    numbers = range(first, first + count)
    return [
        {"number": n, "name": f"{prefix} {n}", "position": "GK" if n == 1 else ""} for n in numbers
    ]


def lineup(match, seq: int, team: str = "ARG", **fields) -> dict:
    body = {"formation": "4-3-3", "starting": xi(team), "bench": xi(f"{team} sub", 3, first=12)}
    return feed_event(match, seq, "lineup", team=team, **{**body, **fields})


def stats(match, seq: int, period: int = 1, minute: int = 30, home=None, away=None) -> dict:
    home = home or {"possession": 60, "shots": 6, "on_target": 3, "corners": 2}
    away = away or {"possession": 40, "shots": 2, "on_target": 1, "corners": 1}
    return feed_event(match, seq, "stats", period=period, minute=minute, home=home, away=away)


def post(client, *events):
    body = json.dumps({"events": list(events)}).encode()
    return client.post(URL, data=body, content_type="application/json", **signed_headers(body))


def ingest(*events) -> None:
    for match_id in feed.feed_store(provider="demo", events=[dict(e) for e in events]):
        feed.feed_drain(provider="demo", match_id=match_id)


def snapshot(match: Match) -> dict:
    match.refresh_from_db()
    return live.snapshot(match, live.timeline(match)).d or {}


def test_a_line_up_is_stored_in_the_snapshot_and_its_frame(match):
    ingest(lineup(match, 1), lineup(match, 2, team="FRA", formation="4-2-3-1"))

    event = match.events.get(kind=EventKind.LINEUP, team__code="ARG")
    assert event.data["formation"] == "4-3-3" and len(event.data["starting"]) == 11
    frame = live.frames_for(match, [event])[0]
    assert frame.t == "lineup" and frame.d["tm"] == "ARG" and frame.d["xi"][0] == [1, "ARG 1", "GK"]
    lu = snapshot(match)["lu"]
    assert set(lu) == {"ARG", "FRA"} and lu["FRA"]["f"] == "4-2-3-1" and len(lu["ARG"]["b"]) == 3
    assert "ev" not in snapshot(match)  # a line-up is not a timeline item
    assert match.home.players.filter(name="ARG sub 13").exists()  # the squad knows its players


def test_a_later_line_up_replaces_the_earlier(match):
    ingest(lineup(match, 1), lineup(match, 2, formation="3-5-2"))
    assert snapshot(match)["lu"]["ARG"]["f"] == "3-5-2"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"starting": xi(count=10)}, "starts 11 players"),
        ({"formation": "4-4-3"}, "ten outfield players"),
        ({"formation": "W-M"}, "ten outfield players"),
        ({"bench": xi("B", 16, first=12)}, "at most 15"),
        ({"bench": [{"number": 1, "name": "Twin"}]}, "shirt number appears twice"),
        ({"starting": [*xi(count=10), {"number": 12, "name": "P 1"}]}, "player appears twice"),
        ({"team": None}, "needs its team"),
    ],
)
def test_a_bad_line_up_is_a_400_with_the_reason_and_nothing_is_stored(
    client, match, change, reason
):
    event = {k: v for k, v in {**lineup(match, 1), **change}.items() if v is not None}
    response = post(
        client, feed_event(match, 1, "status", status="first_half"), {**event, "seq": 2}
    )
    assert response.status_code == 400
    assert reason in json.dumps(response.json(), ensure_ascii=False)
    assert not FeedEvent.objects.exists()


@pytest.mark.parametrize(
    ("figures", "reason"),
    [
        ({"possession": 70, "shots": 1}, "adds up to 100"),
        ({"possession": 60, "shots": 2, "on_target": 3}, "more shots on target than shots"),
        ({"possession": 60, "shot": 2}, "unknown statistics: shot"),
        ({"possession": 60, "shots": -1}, "greater than or equal to 0"),
        ({"possession": 60, "corners": 100}, "less than or equal to 99"),
    ],
)
def test_bad_statistics_are_a_400_with_the_reason(client, match, figures, reason):
    response = post(client, stats(match, 1, home=figures))
    assert response.status_code == 400
    assert reason in json.dumps(response.json())
    assert not FeedEvent.objects.exists()


def test_statistics_are_applied_once_in_order_and_the_newest_of_a_period_wins(match):
    kickoff = feed_event(match, 1, "status", status="first_half")
    later = stats(
        match,
        3,
        minute=40,
        home={"possession": 55, "shots": 9, "on_target": 4},
        away={"possession": 45},
    )
    ingest(kickoff, later)  # seq 3 arrives before 2: it waits
    assert not match.events.filter(kind=EventKind.STATS).exists()

    early = stats(match, 2, minute=20)
    ingest(early, early)  # and a re-sent one changes nothing
    ingest(later)

    assert match.events.filter(kind=EventKind.STATS).count() == 2
    sx = snapshot(match)["sx"]
    assert sx == {
        "1": {
            "m": 40,
            "h": {"pos": 55, "sh": 9, "ot": 4},
            "a": {"pos": 45},
        }
    }


def test_statistics_need_their_period_to_have_started(match):
    ingest(
        stats(match, 1),  # before kick-off
        feed_event(match, 2, "status", status="first_half"),
        stats(match, 3, period=2, minute=50),  # the second half has not started
        stats(match, 4),
    )
    states = dict(FeedEvent.objects.values_list("provider_seq", "state"))
    assert states == {1: "rejected", 2: "applied", 3: "rejected", 4: "applied"}
    assert "before kick-off" in FeedEvent.objects.get(provider_seq=1).error
    assert "not reached" in FeedEvent.objects.get(provider_seq=3).error


def test_momentum_follows_the_pressure_and_the_goals(match):
    ingest(
        feed_event(match, 1, "status", status="first_half"),
        stats(match, 2, minute=15, home={"shots": 6, "on_target": 3}, away={"shots": 0}),
        stats(
            match,
            3,
            minute=30,
            home={"shots": 6, "on_target": 3},
            away={"shots": 5, "on_target": 2},
        ),
        feed_event(match, 4, "goal", team="FRA", minute=31),
        stats(
            match,
            5,
            minute=45,
            home={"shots": 6, "on_target": 3},
            away={"shots": 6, "on_target": 3},
        ),
    )
    strip = snapshot(match)["mo"]
    assert len(strip) == 9  # one bar per five minutes
    assert strip[:3] == [7, 7, 7] and all(bar < 0 for bar in strip[3:])
    assert min(strip) == strip[6] == -centre.MOMENTUM_SCALE  # the goal's five minutes
    frame = live.frames_for(match, [match.events.get(seq=5)])[0]
    assert frame.t == "stats" and frame.d["mo"] == strip and frame.d["pr"] == 1


def test_the_operator_api_takes_a_line_up(operator_user, match):
    client, url = token_client(operator_user), f"/api/v1/matches/{match.slug}/events/"
    body = {"kind": "lineup", "team": "FRA", "formation": "4-4-2", "starting": xi("F")}
    response = client.post(url, body, format="json")
    assert response.status_code == 201, response.content
    assert snapshot(match)["lu"]["FRA"]["f"] == "4-4-2"
    bad = client.post(url, {**body, "formation": "5-5-5"}, format="json")
    assert bad.status_code == 400 and "outfield" in bad.content.decode()


def test_the_replayed_final_has_line_ups_substitutions_and_simulated_statistics():
    worldcup_load(year=2022)
    source = Match.objects.select_related("home", "away").get(slug="arg-vs-fra-2022-12-18")
    replay = simulator.replay_create(source=source)
    plan = simulator.add_chaos(simulator.replay_plan(source=source, replay=replay), home_code="ARG")

    kinds = [p.event["kind"] for p in plan]
    assert kinds[:2] == ["lineup", "lineup"] and plan[0].clock < 0 <= plan[2].clock
    assert kinds.count("substitution") == 13 and kinds.count("stats") == 8
    assert [p.event["seq"] for p in plan if p.event["kind"] != "goal_disallowed"]
    ingest(*(p.event for p in plan))

    assert not FeedEvent.objects.filter(state="rejected").exists(), list(
        FeedEvent.objects.filter(state="rejected").values_list("payload__kind", "error")
    )
    replay.refresh_from_db()
    assert replay.status == MatchStatus.FINISHED and (replay.home_pens, replay.away_pens) == (4, 2)
    d = snapshot(replay)
    assert (
        d["lu"]["ARG"]["xi"][8] == [10, "Lionel Messi", "RW"] and d["lu"]["FRA"]["f"] == "4-2-3-1"
    )
    assert set(d["sx"]) == {"1", "2", "3"} and d["sim"] == 1 and d["mo"]
    # The figures the timeline supports are its own: France's cards, a shot on target per goal.
    assert d["sx"]["2"]["a"]["ot"] >= 2 and d["sx"]["3"]["h"]["ot"] >= 1
    subs = replay.events.filter(kind=EventKind.SUBSTITUTION)
    assert subs.filter(
        player__name="Marcus Thuram", related_player__name="Olivier Giroud", minute=42
    ).exists()
