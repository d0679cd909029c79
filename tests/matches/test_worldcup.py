import json
from collections import Counter

import pytest

from matches.models import EventKind, Match, MatchEvent, MatchStatus, Player
from matches.services import match_score_consistent
from matches.worldcup import DATA_DIR, parse_kickoff, parse_minute, worldcup_load


def source_goal_counts(year: int) -> Counter:
    data = json.loads((DATA_DIR / str(year) / "worldcup.json").read_text("utf-8"))
    return Counter(
        len(row.get("goals1") or []) + len(row.get("goals2") or []) for row in data["matches"]
    )


@pytest.mark.django_db
def test_load_2022_gives_the_final_and_every_goal():
    report = worldcup_load(year=2022)

    assert report.created == 64 and report.goals == 172
    final = Match.objects.get(slug="arg-vs-fra-2022-12-18")
    assert (final.home_score, final.away_score) == (3, 3)
    assert (final.home_pens, final.away_pens) == (4, 2)
    assert final.status == MatchStatus.FINISHED and final.stage.slug == "final"
    kinds = list(final.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.PENALTY_GOAL) == 3  # Messi 23', Mbappé 80' and 118'
    assert EventKind.PERIOD_START in kinds and kinds[-1] == EventKind.FULL_TIME
    messi_108 = final.events.get(minute=108)
    assert messi_108.player.name == "Lionel Messi" and messi_108.period == 4
    per_match = Counter(
        m.events.filter(
            kind__in=[EventKind.GOAL, EventKind.PENALTY_GOAL, EventKind.OWN_GOAL]
        ).count()
        for m in Match.objects.all()
    )
    assert per_match == source_goal_counts(2022)
    assert all(match_score_consistent(m) for m in Match.objects.all())


@pytest.mark.django_db
def test_load_is_idempotent():
    worldcup_load(year=2022)
    counts = (Match.objects.count(), MatchEvent.objects.count(), Player.objects.count())

    second = worldcup_load(year=2022)

    assert second.created == 0 and second.skipped == 64
    assert (Match.objects.count(), MatchEvent.objects.count(), Player.objects.count()) == counts


@pytest.mark.django_db
def test_own_goals_are_credited_to_the_benefiting_team():
    worldcup_load(year=2022)

    own_goals = MatchEvent.objects.filter(kind=EventKind.OWN_GOAL).select_related("player", "team")

    assert own_goals.exists()
    assert all(goal.player.team_id != goal.team_id for goal in own_goals)


@pytest.mark.django_db
def test_load_2026_with_squads_and_string_minutes():
    report = worldcup_load(year=2026)

    assert report.created == 104
    assert report.goals == sum(n * k for n, k in source_goal_counts(2026).items())
    assert Player.objects.filter(team__code="ARG", number=10, name="Lionel Messi").exists()
    final = Match.objects.get(slug="esp-vs-arg-2026-07-19")
    assert (final.home_score, final.away_score) == (1, 0)
    assert final.events.get(kind=EventKind.GOAL).period == 4  # Ferran Torres, 106'


def test_minutes_and_times_in_both_source_styles():
    assert parse_minute(90, 4) == (90, 4)
    assert parse_minute("90+4") == (90, 4)
    assert parse_minute("106") == (106, 0)
    assert parse_kickoff("2022-12-18", "18:00", 2022).isoformat() == "2022-12-18T18:00:00+03:00"
    assert parse_kickoff("2026-07-19", "15:00 UTC-4", 2026).utcoffset().total_seconds() == -4 * 3600
    with pytest.raises(ValueError):
        parse_minute("ninety")


@pytest.mark.django_db
def test_the_finals_squads_are_whole_and_each_player_is_one_row_in_both_editions():
    worldcup_load(year=2022)
    worldcup_load(year=2026)  # squads that name "Kylian Mbappé", reports that say "Mbappé"

    france = Player.objects.filter(team__code="FRA")
    mbappe = france.filter(name__contains="Mbappé")

    assert [p.name for p in mbappe] == ["Kylian Mbappé"]
    assert Player.objects.filter(team__code="ARG").count() >= 26  # the final's XI and bench
    final = Match.objects.get(slug="arg-vs-fra-2022-12-18")
    assert {
        e.player.name for e in final.events.filter(team__code="FRA", kind__contains="goal")
    } == {"Kylian Mbappé"}
    names = list(Player.objects.values_list("team_id", "name"))
    assert len(names) == len(set(names))
