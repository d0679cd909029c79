"""Read-side queries for the match domain: what views, other apps and the gateway call.

`live_snapshot_or_rebuild` (from matches.live) is the gateway's way to a match snapshot;
it writes the rebuilt live state to Redis when it finds none, as its name says.
"""

from typing import Any

from django.db.models import Prefetch, QuerySet

from matches import bracket
from matches.bracket_rules import OVERALL_FIRST
from matches.live import live_snapshot_or_rebuild, timeline_items
from matches.models import Competition, Fixture, Match, MatchEvent, Player, Team


def competition_list() -> QuerySet[Competition]:
    return Competition.objects.prefetch_related("stages")


def group_tables(competition: Competition) -> list[dict[str, Any]]:
    """Each group's table, from its finished matches, in the order the edition's tie-breaks
    give (docs/tournament.md); teams still tied share a position and are marked."""
    data = bracket.bracket_data(competition.season) or {}
    tables = bracket.groups(competition, data.get("group_tiebreak", OVERALL_FIRST))
    ids = {team for group in tables.values() for team in group.rows}
    teams = {t.pk: t for t in Team.objects.filter(pk__in=ids)}
    out = []
    for letter, group in tables.items():
        rows, position = [], 1
        for tier in group.order:
            for team in tier:
                row = group.rows[team]
                rows.append({
                    "position": position, "tied": len(tier) > 1,
                    "team": {"code": teams[team].code, "name": teams[team].name},
                    "played": row.played, "points": row.points, "goals_for": row.goals_for,
                    "goals_against": row.goals_against, "difference": row.difference,
                })  # fmt: skip
            position += len(tier)
        out.append({"group": letter, "complete": group.complete, "table": rows})
    return out


def competition_fixtures(competition: Competition) -> QuerySet[Fixture]:
    return Fixture.objects.filter(competition=competition).select_related(
        "stage", "home_team", "away_team", "match"
    )


def team_list() -> QuerySet[Team]:
    return Team.objects.all()


def team_players(team: Team) -> QuerySet[Player]:
    return Player.objects.filter(team=team).order_by("number", "name")


def match_team(match: Match, code: str) -> Team | None:
    """The side of `match` with FIFA `code` (any case), or None when it does not play."""
    for team in (match.home, match.away):
        if team.code == code.upper():
            return team
    return None


def match_list() -> QuerySet[Match]:
    return Match.objects.select_related("competition", "stage", "home", "away")


def match_timeline() -> QuerySet[MatchEvent]:
    return MatchEvent.objects.select_related(
        "team", "player", "related_player", "supersedes", "superseded_by"
    ).order_by("seq")


def match_detail_list() -> QuerySet[Match]:
    return match_list().prefetch_related(Prefetch("events", queryset=match_timeline()))


def match_share_locked(match_id: int) -> Match:
    """Read the match holding its row FOR SHARE until the transaction ends. Many readers may
    hold it at once; a service changing the match (FOR UPDATE) waits for them, and they wait
    for it. Call inside a transaction."""
    return Match.objects.raw("SELECT * FROM matches_match WHERE id = %s FOR SHARE", [match_id])[0]


__all__ = [
    "competition_list",
    "live_snapshot_or_rebuild",
    "match_detail_list",
    "match_list",
    "match_share_locked",
    "match_team",
    "match_timeline",
    "team_list",
    "team_players",
]


def match_timeline_items(slug: str) -> tuple[int, list[dict[str, object]]] | None:
    """(seq, the whole timeline in the wire's shape) of a match, or None if there is none."""
    match = Match.objects.select_related("home", "away").filter(slug=slug).first()
    if match is None:
        return None
    return match.seq, timeline_items(match)
