import pytest

from core.redis import client as redis_client
from matches.models import EventKind, MatchStatus
from matches.services import match_change_status, match_record_goal
from tests.conftest import token_client
from tests.factories import make_player, make_team

pytestmark = pytest.mark.django_db


def test_match_list_filters(api, make_match, final_stage):
    make_match(day=1)
    make_match(day=2, away=make_team("BRA"))
    final = make_match(day=3, stage=final_stage, home=make_team("ESP"))
    match_change_status(match=final, status=MatchStatus.FIRST_HALF)

    assert api.get("/api/v1/matches/").json()["count"] == 3
    assert api.get("/api/v1/matches/?team=bra").json()["count"] == 1
    assert api.get("/api/v1/matches/?date=2026-12-02").json()["count"] == 1
    assert api.get("/api/v1/matches/?date_from=2026-12-02").json()["count"] == 2
    assert api.get("/api/v1/matches/?stage=final").json()["results"][0]["slug"] == final.slug
    assert api.get("/api/v1/matches/?status=live").json()["count"] == 1
    assert api.get("/api/v1/matches/?status=scheduled").json()["count"] == 2


@pytest.mark.parametrize(
    "query, field",
    [
        ("date=yesterday", "date"),
        ("status=halftime", "status"),
        ("team=argentina", "team"),
        ("stauts=live", "stauts"),
    ],
)
def test_bad_filters_get_400_with_reason(api, match, query, field):
    response = api.get(f"/api/v1/matches/?{query}")

    assert response.status_code == 400
    assert field in response.json()


def test_match_detail_has_ordered_timeline(api, match, home):
    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    match_record_goal(match=match, team=home, player=make_player(home, "Lionel Messi"), minute=23)

    body = api.get(f"/api/v1/matches/{match.slug}/").json()

    assert body["home_score"] == 1 and body["seq"] == 2
    assert [e["seq"] for e in body["timeline"]] == [1, 2]
    assert body["timeline"][1]["player"]["name"] == "Lionel Messi"
    assert body["timeline"][1]["team"] == "ARG"


def test_unknown_ids_get_404(api):
    assert api.get("/api/v1/matches/nope-vs-nope-2020-01-01/").status_code == 404
    assert api.get("/api/v1/teams/XYZ/").status_code == 404
    assert api.get("/api/v1/competitions/none/").status_code == 404


def test_teams_and_competitions(api, match, competition):
    assert api.get("/api/v1/teams/arg/").json()["code"] == "ARG"
    assert api.get(f"/api/v1/competitions/{competition.slug}/").json()["season"] == 2026


def test_anonymous_write_gets_401(api, match):
    response = api.post(f"/api/v1/matches/{match.slug}/events/", {"kind": "status"}, format="json")

    assert response.status_code == 401


def test_fan_without_permission_gets_403(fan, match):
    response = token_client(fan).post(
        f"/api/v1/matches/{match.slug}/events/",
        {"kind": "status", "status": "first_half"},
        format="json",
    )

    assert response.status_code == 403
    match.refresh_from_db()
    assert match.status == MatchStatus.SCHEDULED


def test_operator_runs_a_match_over_the_api(operator_user, match):
    client = token_client(operator_user)
    url = f"/api/v1/matches/{match.slug}/events/"

    kickoff = client.post(url, {"kind": "status", "status": "first_half"}, format="json")
    goal = client.post(url, {"kind": "goal", "team": "fra", "minute": 12}, format="json")
    var = client.post(
        url, {"kind": "goal_disallowed", "target": 2, "detail": "offside"}, format="json"
    )

    assert (kickoff.status_code, goal.status_code, var.status_code) == (201, 201, 201)
    assert var.json()["supersedes"] == 2 and var.json()["kind"] == EventKind.GOAL_DISALLOWED
    match.refresh_from_db()
    assert (match.away_score, match.seq) == (0, 3)


@pytest.mark.parametrize(
    "payload, reason",
    [
        ({"kind": "goal", "team": "BRA", "minute": 5}, "team"),
        ({"kind": "goal", "team": "ARG", "minute": 5}, "detail"),  # not kicked off: rule error
        ({"kind": "teleport"}, "kind"),
        ({"kind": "goal_disallowed", "target": 99}, "target"),
        ({"kind": "goal", "team": "ARG", "minute": "soon"}, "minute"),
    ],
)
def test_operator_bad_input_gets_400_and_changes_nothing(operator_user, match, payload, reason):
    response = token_client(operator_user).post(
        f"/api/v1/matches/{match.slug}/events/", payload, format="json"
    )

    assert response.status_code == 400
    assert reason in response.json()
    match.refresh_from_db()
    assert match.seq == 0


def test_schema_lists_every_endpoint(api):
    response = api.get("/api/schema/?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/matches/",
        "/api/v1/matches/{slug}/",
        "/api/v1/matches/{slug}/events/",
        "/api/v1/teams/{code}/",
        "/api/v1/competitions/",
    ]:
        assert path in paths
    assert "requestBody" in paths["/api/v1/matches/{slug}/events/"]["post"]


def test_api_docs_page_is_served(api):
    assert api.get("/api/docs/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_live_snapshot_has_etag_and_answers_304(api, match, home):

    redis_client().flushdb()
    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    match_record_goal(match=match, team=home, minute=7)
    url = f"/api/v1/matches/{match.slug}/live/"

    first = api.get(url)
    again = api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200 and first.json()["seq"] == 2
    assert first.json()["d"]["s"] == [1, 0]
    assert "max-age=1" in first["Cache-Control"]
    assert again.status_code == 304
    assert api.get("/api/v1/matches/nope-vs-nope-2020-01-01/live/").status_code == 404


def test_a_team_squad_lists_player_ids(api, home):
    from tests.factories import make_player

    messi = make_player(home, "Lionel Messi")

    squad = api.get(f"/api/v1/teams/{home.code.lower()}/players/")

    assert squad.status_code == 200
    assert {"id": messi.pk, "name": "Lionel Messi"}.items() <= squad.json()[0].items()
    assert api.get("/api/v1/teams/XXX/players/").status_code == 404


def test_deeply_nested_json_bodies_get_400(fan):
    from tests.conftest import token_client

    body = '{"name": ' + "[" * 50_000 + "]" * 50_000 + "}"

    answer = token_client(fan).post("/api/v1/leagues/", body, content_type="application/json")

    assert answer.status_code == 400 and "nested" in answer.json()["detail"]


def test_the_timeline_in_the_wires_shape_is_what_a_watcher_collected(api, match, home):
    match_change_status(match=match, status=MatchStatus.FIRST_HALF)
    match_record_goal(match=match, team=home, minute=12)
    match_change_status(match=match, status=MatchStatus.HALF_TIME)
    redis_client().flushdb()

    body = api.get(f"/api/v1/matches/{match.slug}/timeline/")
    snapshot = api.get(f"/api/v1/matches/{match.slug}/live/").json()
    again = api.get(
        f"/api/v1/matches/{match.slug}/timeline/", HTTP_IF_NONE_MATCH=body.headers["ETag"]
    )

    assert body.status_code == 200 and body.json()["seq"] == 3
    assert [e["t"] for e in body.json()["ev"]] == ["status", "goal", "status"]
    assert body.json()["ev"] == snapshot["d"]["ev"]  # what the snapshot carried, in full
    assert again.status_code == 304
    assert api.get("/api/v1/matches/no-such-match/timeline/").status_code == 404
