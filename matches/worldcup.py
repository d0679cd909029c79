"""Load the openfootball World Cup files (matches/data/openfootball) into the match domain.

Each finished match is replayed through the same services an operator uses (kick-off, goals,
half time, ..., full time), so loaded data obeys every rule live data does. Loading is
idempotent: a match whose slug exists is left as it is.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from matches import bracket, effects, services
from matches.models import (
    Competition,
    EventKind,
    Fixture,
    Match,
    MatchStatus,
    Player,
    Stage,
    Team,
)

DATA_DIR = Path(__file__).resolve().parent / "data" / "openfootball"
LINEUPS = DATA_DIR.parent / "lineups" / "2022-final.json"

# 2022 teams absent from the 2026 teams file.
EXTRA_TEAMS: dict[str, tuple[str, str]] = {
    "Cameroon": ("CMR", "🇨🇲"),
    "Costa Rica": ("CRC", "🇨🇷"),
    "Denmark": ("DEN", "🇩🇰"),
    "Poland": ("POL", "🇵🇱"),
    "Serbia": ("SRB", "🇷🇸"),
    "Wales": ("WAL", "🏴󠁧󠁢󠁷󠁬󠁳󠁿"),
}

# 2022 source times are local to Qatar; 2026 times carry an explicit "UTC-5" style offset.
DEFAULT_UTC_OFFSET = {2022: 3}

KNOCKOUT_ORDER = [
    "Round of 32",
    "Round of 16",
    "Quarter-finals",
    "Semi-finals",
    "Match for third place",
    "Final",
]
STAGE_ALIASES = {"Quarter-final": "Quarter-finals", "Semi-final": "Semi-finals"}


@dataclass(frozen=True)
class SourceGoal:
    team_index: int  # 0 = team1 (home), 1 = team2 (away): the side credited with the goal
    name: str
    minute: int
    stoppage: int
    penalty: bool
    own_goal: bool

    @property
    def sort_key(self) -> tuple[int, int]:
        return (self.minute, self.stoppage)


@dataclass
class LoadReport:
    created: int = 0
    skipped: int = 0
    fixtures: int = 0  # knockout fixtures left for the results to decide (as_of)
    goals: int = 0
    slugs: list[str] = field(default_factory=list)


def parse_minute(raw: Any, offset: Any = None) -> tuple[int, int]:
    """Both source styles: 90 with offset 4 (2022) and "90+4" (2026)."""
    if isinstance(raw, int):
        return raw, int(offset or 0)
    match = re.fullmatch(r"\s*(\d+)\s*(?:\+\s*(\d+))?\s*", str(raw))
    if not match:
        raise ValueError(f"unreadable minute {raw!r}")
    return int(match.group(1)), int(match.group(2) or 0)


def parse_kickoff(date: str, time: str, year: int) -> dt.datetime:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?:\s*UTC([+-]\d{1,2}))?", time.strip())
    if not match:
        raise ValueError(f"unreadable time {time!r}")
    hours = int(match.group(3)) if match.group(3) else DEFAULT_UTC_OFFSET.get(year, 0)
    local = dt.datetime.fromisoformat(f"{date}T{int(match.group(1)):02d}:{match.group(2)}")
    return local.replace(tzinfo=dt.timezone(dt.timedelta(hours=hours)))


def read_json(year: int, name: str) -> Any:
    return json.loads((DATA_DIR / str(year) / name).read_text(encoding="utf-8"))


def load_teams(year: int, names: set[str]) -> dict[str, Team]:
    known: dict[str, tuple[str, str]] = dict(EXTRA_TEAMS)
    for row in json.loads((DATA_DIR / "2026" / "worldcup.teams.json").read_text("utf-8")):
        known[row["name"]] = (row["fifa_code"], row.get("flag_icon", ""))
    teams: dict[str, Team] = {}
    for name in sorted(names):
        if name not in known:
            raise ValueError(f"no FIFA code known for {name!r}")
        code, flag = known[name]
        teams[name], _ = Team.objects.get_or_create(
            code=code, defaults={"name": name, "flag": flag}
        )
    return teams


def load_squads(teams: dict[str, Team]) -> int:
    by_code = {team.code: team for team in teams.values()}
    added = 0
    for squad in read_json(2026, "worldcup.squads.json"):
        team = by_code.get(squad["fifa_code"])
        if team is None:
            continue
        for row in squad["players"]:
            _, created = player_named(
                team,
                row["name"],
                number=row.get("number"),
                position=row.get("pos", "")[:2],
                date_of_birth=row.get("date_of_birth"),
                club=(row.get("club") or {}).get("name", "")[:120],
            )
            added += created
    return added


def load_lineups(teams: dict[str, Team]) -> int:
    """The 2022 final's two squads (starting XI and bench, matches/data/lineups): the first
    scorer can be any of them, not only the tournament's scorers."""
    by_code = {team.code: team for team in teams.values()}
    added = 0
    for side in json.loads(LINEUPS.read_text(encoding="utf-8"))["teams"]:
        team = by_code.get(side["team"])
        if team is None:
            continue
        for row in side["starting"] + side["bench"]:
            _, created = player_named(
                team, row["name"], number=row.get("number"), position=row.get("position", "")[:2]
            )
            added += created
    return added


def player_named(team: Team, name: str, **known: Any) -> tuple[Player, bool]:
    """The team's player of that name, created if new. Sources name players differently
    ("Mbappé" in match reports, "Kylian Mbappé" in squads): a name that is the end of
    exactly one other player's name is that player, kept under the longer name."""
    exact = team.players.filter(name=name).first()
    if exact is not None:
        return exact, False
    same = [p for p in team.players.all() if _same_person(p.name, name)]
    if len(same) != 1:
        return Player.objects.create(team=team, name=name, **known), True
    player = same[0]
    if len(name) > len(player.name):
        player.name = name
    for name_of, value in known.items():
        if value and not getattr(player, name_of):
            setattr(player, name_of, value)
    player.save()
    return player, False


def _same_person(a: str, b: str) -> bool:
    short, long = sorted((a, b), key=len)
    return long.endswith(f" {short}")


def stage_for(competition: Competition, round_name: str) -> Stage:
    name = STAGE_ALIASES.get(round_name, round_name)
    if name.startswith("Matchday"):
        name, kind, order = "Group stage", Stage.Kind.GROUP, 0
    else:
        kind = Stage.Kind.KNOCKOUT
        order = KNOCKOUT_ORDER.index(name) + 1 if name in KNOCKOUT_ORDER else 50
    stage, _ = Stage.objects.get_or_create(
        competition=competition,
        slug=slugify(name),
        defaults={"name": name, "kind": kind, "order": order},
    )
    return stage


def source_goals(row: dict[str, Any]) -> list[SourceGoal]:
    extra_time = "et" in (row.get("score") or {})
    goals = []
    for index, key in enumerate(("goals1", "goals2")):
        for goal in row.get(key) or []:
            minute, stoppage = parse_minute(goal["minute"], goal.get("offset"))
            if minute > 90 and not extra_time:
                # The source sometimes writes 90+2 as "92" in matches without extra time.
                minute, stoppage = 90, stoppage + minute - 90
            goals.append(
                SourceGoal(
                    team_index=index,
                    name=goal["name"],
                    minute=minute,
                    stoppage=stoppage,
                    penalty=bool(goal.get("penalty")),
                    own_goal=bool(goal.get("owngoal")),
                )
            )
    return sorted(goals, key=lambda goal: goal.sort_key)


def shootout_kicks(home: int, away: int) -> list[tuple[int, bool]]:
    """The source gives shootout totals only: rebuild alternating kicks that add up to them
    (each side takes as many kicks as the larger total, the winner scoring all of its own)."""
    kicks_each = max(home, away)
    sequence: list[tuple[int, bool]] = []
    for kick in range(kicks_each):
        sequence.append((0, kick < home))
        sequence.append((1, kick < away))
    return sequence


class MatchReplay:
    """Replays one finished source match through the services."""

    def __init__(self, match: Match, row: dict[str, Any], teams: tuple[Team, Team]) -> None:
        self.match = match
        self.row = row
        self.teams = teams
        self.score = row.get("score") or {}

    def run(self) -> None:
        goals = source_goals(self.row)
        self._status(MatchStatus.FIRST_HALF, 0)
        self._goals(goals, upto=(45, 99))
        self._status(MatchStatus.HALF_TIME, 45)
        self._status(MatchStatus.SECOND_HALF, 45)
        self._goals(goals, upto=(90, 99))
        if "et" in self.score:
            self._status(MatchStatus.EXTRA_TIME, 90)
            self._goals(goals, upto=(120, 99))
        if "p" in self.score:
            self._status(MatchStatus.PENALTIES, 120)
            self._shootout(*self.score["p"])
        if goals:
            raise ValueError(f"{self.match.slug}: goals outside the periods played: {goals}")
        self._status(MatchStatus.FINISHED, 120 if "et" in self.score else 90)
        self._check_final_score()

    def _check_final_score(self) -> None:
        self.match.refresh_from_db()
        expected = list(self.score.get("et") or self.score["ft"])
        if [self.match.home_score, self.match.away_score] != expected:
            raise ValueError(f"{self.match.slug}: replay gives a score other than {expected}")

    def _status(self, status: str, minute: int) -> None:
        services.match_change_status(match=self.match, status=status, minute=minute)

    def _goals(self, goals: list[SourceGoal], upto: tuple[int, int]) -> None:
        while goals and goals[0].sort_key <= upto:
            self._goal(goals.pop(0))

    def _goal(self, goal: SourceGoal) -> None:
        credited = self.teams[goal.team_index]
        scorer_team = self.teams[1 - goal.team_index] if goal.own_goal else credited
        player, _ = player_named(scorer_team, goal.name)
        kind = EventKind.OWN_GOAL if goal.own_goal else EventKind.GOAL
        if goal.penalty:
            kind = EventKind.PENALTY_GOAL
        services.match_record_goal(
            match=self.match,
            team=credited,
            player=player,
            minute=goal.minute,
            stoppage=goal.stoppage,
            kind=kind,
        )

    def _shootout(self, home: int, away: int) -> None:
        for index, scored in shootout_kicks(home, away):
            services.match_record_shootout_kick(
                match=self.match, team=self.teams[index], scored=scored
            )


def load_match(
    competition: Competition,
    teams: dict[str, Team],
    row: dict[str, Any],
    year: int,
    *,
    play: bool = True,
) -> Match | None:
    home, away = teams[row["team1"]], teams[row["team2"]]
    kickoff = parse_kickoff(row["date"], row["time"], year)
    slug = services.match_slug(home=home, away=away, date=kickoff.date())
    if Match.objects.filter(slug=slug).exists():
        return None
    with transaction.atomic():
        match = services.match_create(
            competition=competition,
            stage=stage_for(competition, row["round"]),
            home=home,
            away=away,
            kickoff=kickoff,
            local_date=kickoff.date(),
            venue=row.get("ground", ""),
            group=row.get("group", ""),
        )
        if play and row.get("score", {}).get("ft"):
            MatchReplay(match, row, (home, away)).run()
    return match


def load_fixture(
    competition: Competition, row: dict[str, Any], number: int, year: int
) -> Fixture | None:
    """The knockout fixture of a source row, with its sources from the bracket data."""
    data = bracket.bracket_data(year)
    if data is None or str(number) not in data["fixtures"]:
        return None
    home_source, away_source = data["fixtures"][str(number)]
    fixture, _ = Fixture.objects.get_or_create(
        competition=competition,
        number=number,
        defaults={
            "stage": stage_for(competition, row["round"]),
            "kickoff": parse_kickoff(row["date"], row["time"], year),
            "venue": row.get("ground", ""),
            "home_source": home_source,
            "away_source": away_source,
        },
    )
    return fixture


def _link(fixture: Fixture, match: Match) -> None:
    """A knockout match loaded as played: its fixture's teams are the ones that played."""
    Fixture.objects.filter(pk=fixture.pk, match__isnull=True).update(
        match=match, home_team=match.home_id, away_team=match.away_id
    )


def worldcup_load(*, year: int = 2022, as_of: dt.datetime | None = None) -> LoadReport:
    """Load a World Cup edition; running it again changes nothing. With `as_of`, as it
    stood then: later group matches scheduled, later knockout matches fixtures whose teams
    the results will decide (docs/tournament.md)."""
    source = read_json(year, "worldcup.json")
    competition, _ = Competition.objects.get_or_create(
        slug=slugify(source["name"]), defaults={"name": source["name"], "season": year}
    )
    names = {row[key] for row in source["matches"] for key in ("team1", "team2")}
    teams = load_teams(year, names)
    if year == 2026:
        load_squads(teams)
    else:
        load_lineups(teams)
    report = LoadReport()
    data = bracket.bracket_data(year)
    first_number = min(map(int, data["fixtures"])) if data else 0
    knockout = 0
    with effects.suppressed():
        for row in source["matches"]:
            played = as_of is None or parse_kickoff(row["date"], row["time"], year) < as_of
            fixture = None
            if not row.get("group"):
                fixture = load_fixture(
                    competition, row, row.get("num") or first_number + knockout, year
                )
                knockout += 1
                if fixture is not None and not played:
                    report.fixtures += 1
                    continue
            match = load_match(competition, teams, row, year, play=played)
            if fixture is not None:
                _link(fixture, match or Match.objects.get(slug=_slug(teams, row, year)))
            if match is None:
                report.skipped += 1
                continue
            report.created += 1
            report.goals += match.home_score + match.away_score
            report.slugs.append(match.slug)
        bracket.bracket_resolve(competition)
    return report


def _slug(teams: dict[str, Team], row: dict[str, Any], year: int) -> str:
    kickoff = parse_kickoff(row["date"], row["time"], year)
    return services.match_slug(
        home=teams[row["team1"]], away=teams[row["team2"]], date=kickoff.date()
    )
