import pytest
from django.test import Client

from matches.models import EventKind, MatchStatus
from tests.factories import make_player

pytestmark = pytest.mark.django_db


def console_url(match) -> str:
    return f"/admin/matches/match/{match.pk}/console/"


@pytest.fixture
def operator_client(operator_user) -> Client:
    client = Client()
    client.force_login(operator_user)
    return client


def post(client, match, action, **fields):
    data = {"action": action, **{f"{action}-{k}": v for k, v in fields.items()}}
    return client.post(console_url(match), data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_operator_runs_a_match_from_the_console(operator_client, match, home):
    scorer = make_player(home, "Lionel Messi")

    post(operator_client, match, "status", status="first_half", minute=0)
    response = post(
        operator_client,
        match,
        "goal",
        team=home.pk,
        player=scorer.pk,
        kind="goal",
        minute=23,
        stoppage=0,
    )

    assert response.status_code == 200
    assert "Score 1-0" in messages_of(response)[-1]
    goal = match.events.get(kind=EventKind.GOAL)
    post(operator_client, match, "disallow", goal=goal.pk, reason="VAR: offside")
    post(operator_client, match, "incident", team=home.pk, kind="yellow", minute=30, stoppage=0)
    match.refresh_from_db()
    assert (match.home_score, match.seq, match.status) == (0, 4, MatchStatus.FIRST_HALF)


def test_invalid_console_action_shows_a_message_not_a_500(operator_client, match, home):
    response = post(
        operator_client, match, "goal", team=home.pk, kind="goal", minute=23, stoppage=0
    )

    assert response.status_code == 200
    assert "Not recorded" in messages_of(response)[-1]
    assert match.events.count() == 0


def test_bad_form_input_is_reported(operator_client, match):
    response = post(operator_client, match, "status", status="finished")

    assert "Not recorded" in messages_of(response)[-1]


def test_console_page_renders_with_timeline(operator_client, match):
    post(operator_client, match, "status", status="first_half", minute=0)

    response = operator_client.get(console_url(match))

    assert response.status_code == 200
    assert b"Kick-off" in response.content and b"Record goal" in response.content


def test_operators_enter_a_line_up_and_statistics_in_the_console(operator_client, match, away):
    starting = "\n".join(["1 Hugo Lloris, GK", *(f"{n} Player {n}" for n in range(2, 12))])
    response = post(
        operator_client,
        match,
        "lineup",
        team=away.pk,
        formation="4-2-3-1",
        starting=starting,
        bench="12 Sub One\nSub Two, FW",
    )
    assert "Recorded #1 Line-up" in messages_of(response)[-1]
    data = match.events.get(kind=EventKind.LINEUP).data
    assert data["starting"][0] == {"number": 1, "name": "Hugo Lloris", "position": "GK"}
    assert data["bench"][1] == {"number": None, "name": "Sub Two", "position": "FW"}

    post(operator_client, match, "status", status="first_half", minute=0)
    figures = {"home_possession": 58, "away_possession": 42, "home_shots": 4, "away_shots": 1}
    response = post(operator_client, match, "stats", period=1, minute=20, **figures)
    assert "Statistics" in messages_of(response)[-1]
    stats = match.events.get(kind=EventKind.STATS).data
    assert stats["home"] == {"possession": 58, "shots": 4} and stats["minute"] == 20
    bad = post(operator_client, match, "stats", period=1, home_possession=70, away_possession=40)
    assert "adds up to 100" in messages_of(bad)[-1]
    page = operator_client.get(console_url(match)).content.decode()
    assert "Line-up" in page and "ARG on target" in page and "Move kick-off" in page


def test_read_only_operator_cannot_use_the_console(viewer_user, match):
    client = Client()
    client.force_login(viewer_user)

    assert client.get(f"/admin/matches/match/{match.pk}/change/").status_code == 200
    assert client.get(console_url(match)).status_code == 403
    client.post(console_url(match), {"action": "status", "status-status": "first_half"})
    match.refresh_from_db()
    assert match.status == MatchStatus.SCHEDULED


def test_list_actions_kick_off_and_end(operator_client, match, make_match):
    other = make_match(day=20)
    changelist = "/admin/matches/match/"

    operator_client.post(
        changelist, {"action": "start_matches", "_selected_action": [match.pk, other.pk]}
    )
    response = operator_client.post(
        changelist, {"action": "end_matches", "_selected_action": [match.pk]}, follow=True
    )

    match.refresh_from_db()
    other.refresh_from_db()
    assert other.status == MatchStatus.FIRST_HALF
    assert match.status == MatchStatus.FIRST_HALF  # first half cannot jump to full time
    assert any("cannot move" in m for m in messages_of(response))


def test_match_changelist_filters_and_search(operator_client, match):
    response = operator_client.get("/admin/matches/match/?status__exact=scheduled&q=ARG")

    assert response.status_code == 200 and match.slug.encode() in response.content


def test_feed_events_are_listed_for_operators(operator_client, match):
    from matches.models import FeedEvent

    FeedEvent.objects.create(
        provider="demo",
        provider_event_id="x-1",
        match=match,
        provider_seq=1,
        payload={},
        state="rejected",
        error="a goal needs the ball in play",
    )

    response = operator_client.get("/admin/matches/feedevent/?state__exact=rejected")

    assert response.status_code == 200 and b"a goal needs the ball in play" in response.content


def test_finished_match_offers_no_further_status(operator_client, match):
    from matches.models import Match

    Match.objects.filter(pk=match.pk).update(status=MatchStatus.FINISHED)

    response = operator_client.get(console_url(match))

    assert b"No further status: the match is finished." in response.content


def test_operator_adds_a_match_through_the_services(operator_client, competition, group_stage):
    from tests.factories import make_team

    home, away = make_team("ESP"), make_team("POR")
    form = {
        "competition": competition.pk,
        "stage": group_stage.pk,
        "home": home.pk,
        "away": away.pk,
        "kickoff_0": "2026-12-24",
        "kickoff_1": "18:00",
        "slug": "esp-vs-por-2026-12-24",
        "venue": "Lusail",
        "group": "Group B",
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
    }
    response = operator_client.post("/admin/matches/match/add/", form)
    assert response.status_code == 302, [str(e) for e in response.context["errors"]]
    from matches.models import Match

    assert Match.objects.get(slug="esp-vs-por-2026-12-24").venue == "Lusail"
    again = operator_client.post("/admin/matches/match/add/", form)
    assert again.status_code == 200  # the services' rule, as a form error: no 500
