"""The match domain. Rows change only through matches.services; see the module docstring there."""

from django.db import models
from django.db.models import Q


class Competition(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    season = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-season", "name"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    class Kind(models.TextChoices):
        GROUP = "group", "Group stage"
        KNOCKOUT = "knockout", "Knockout"

    competition = models.ForeignKey(Competition, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["competition", "order"]
        constraints = [
            models.UniqueConstraint(fields=["competition", "slug"], name="stage_unique_slug"),
        ]

    def __str__(self) -> str:
        return f"{self.competition}: {self.name}"


class Team(models.Model):
    name = models.CharField(max_length=80, unique=True)
    code = models.CharField(max_length=3, unique=True, help_text="FIFA code, e.g. ARG")
    flag = models.CharField(max_length=16, blank=True, help_text="Flag emoji")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Z]{3}$"), name="team_code_three_capitals"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Player(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="players")
    name = models.CharField(max_length=120)
    number = models.PositiveSmallIntegerField(null=True, blank=True)
    position = models.CharField(max_length=2, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    club = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["team", "number", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="player_unique_per_team"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.team.code})"


class MatchStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    FIRST_HALF = "first_half", "First half"
    HALF_TIME = "half_time", "Half time"
    SECOND_HALF = "second_half", "Second half"
    EXTRA_TIME = "extra_time", "Extra time"
    PENALTIES = "penalties", "Penalty shootout"
    SUSPENDED = "suspended", "Suspended"  # play stopped (weather, crowd); resumes or abandons
    FINISHED = "finished", "Finished"
    POSTPONED = "postponed", "Postponed"
    ABANDONED = "abandoned", "Abandoned"
    CANCELLED = "cancelled", "Cancelled"


LIVE_STATUSES = frozenset(
    {
        MatchStatus.FIRST_HALF,
        MatchStatus.HALF_TIME,
        MatchStatus.SECOND_HALF,
        MatchStatus.EXTRA_TIME,
        MatchStatus.PENALTIES,
        MatchStatus.SUSPENDED,
    }
)
# A match ended without a result: its predictions are void (docs/scoring.md).
VOID_STATUSES = frozenset({MatchStatus.ABANDONED, MatchStatus.CANCELLED})


class Match(models.Model):
    competition = models.ForeignKey(Competition, on_delete=models.PROTECT, related_name="matches")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="matches")
    group = models.CharField(max_length=40, blank=True, help_text="e.g. Group C")
    home = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="home_matches")
    away = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="away_matches")
    slug = models.SlugField(max_length=64, unique=True)
    kickoff = models.DateTimeField(db_index=True)
    venue = models.CharField(max_length=120, blank=True)
    status = models.CharField(
        max_length=16, choices=MatchStatus.choices, default=MatchStatus.SCHEDULED, db_index=True
    )
    home_score = models.PositiveSmallIntegerField(default=0)
    away_score = models.PositiveSmallIntegerField(default=0)
    home_pens = models.PositiveSmallIntegerField(null=True, blank=True)
    away_pens = models.PositiveSmallIntegerField(null=True, blank=True)
    minute = models.PositiveSmallIntegerField(null=True, blank=True)
    home_possession = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="home team's ball possession, percent"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    # An abandoned (or cancelled) match's replay is a new match, with its own predictions.
    replay_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replay"
    )
    # Last event number on this match's channel; assigned under the row lock (ARCHITECTURE 3).
    seq = models.PositiveIntegerField(default=0)
    # Grows at full time and at every later correction of the result (ARCHITECTURE 8).
    result_version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kickoff", "id"]
        verbose_name_plural = "matches"
        constraints = [
            models.CheckConstraint(condition=~Q(home=models.F("away")), name="match_two_teams"),
            models.CheckConstraint(
                condition=Q(home_possession__lte=100), name="match_possession_percent"
            ),
            models.CheckConstraint(
                condition=Q(home_pens__isnull=True, away_pens__isnull=True)
                | Q(home_pens__isnull=False, away_pens__isnull=False),
                name="match_pens_both_or_neither",
            ),
        ]
        permissions = [("operate_match", "Can run a live match from the operator console")]

    def __str__(self) -> str:
        return (
            f"{self.home.code} {self.home_score}-{self.away_score} {self.away.code} ({self.slug})"
        )

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class Fixture(models.Model):
    """A knockout match as the competition's structure defines it, before and after its
    teams are known (matches/bracket.py, docs/tournament.md)."""

    competition = models.ForeignKey(Competition, on_delete=models.CASCADE, related_name="fixtures")
    number = models.PositiveSmallIntegerField(help_text="the competition's match number")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="fixtures")
    kickoff = models.DateTimeField()
    venue = models.CharField(max_length=120, blank=True)
    home_source = models.CharField(max_length=16, help_text="1A, 2B, 3ABCDF, W73, L101")
    away_source = models.CharField(max_length=16)
    home_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    away_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Created once both teams are known.
    match = models.OneToOneField(
        Match, null=True, blank=True, on_delete=models.SET_NULL, related_name="fixture"
    )

    class Meta:
        ordering = ["competition", "number"]
        constraints = [
            models.UniqueConstraint(fields=["competition", "number"], name="fixture_number_once"),
        ]

    def __str__(self) -> str:
        return f"Match {self.number}: {self.home_source} v {self.away_source}"


class EventKind(models.TextChoices):
    KICKOFF = "kickoff", "Kick-off"
    GOAL = "goal", "Goal"
    OWN_GOAL = "own_goal", "Own goal"
    PENALTY_GOAL = "penalty_goal", "Penalty goal"
    MISSED_PENALTY = "missed_penalty", "Missed penalty"
    YELLOW = "yellow", "Yellow card"
    RED = "red", "Red card"
    SUBSTITUTION = "substitution", "Substitution"
    VAR_REVIEW = "var_review", "VAR review"
    GOAL_DISALLOWED = "goal_disallowed", "Goal disallowed"
    PERIOD_START = "period_start", "Period start"
    PERIOD_END = "period_end", "Period end"
    SHOOTOUT_KICK = "shootout_kick", "Shootout kick"
    FULL_TIME = "full_time", "Full time"
    STATUS = "status", "Status change"
    KICKOFF_TIME = "kickoff_time", "Kick-off time moved"  # detail: new kick-off, reason
    REPLAY_SCHEDULED = "replay_scheduled", "Replay scheduled"  # detail: the replay's slug
    POSSESSION = "possession", "Possession"
    LINEUP = "lineup", "Line-up"  # data: formation, starting XI, bench (matches/centre.py)
    STATS = "stats", "Statistics"  # data: one period's figures so far, and the momentum


GOAL_KINDS = frozenset({EventKind.GOAL, EventKind.OWN_GOAL, EventKind.PENALTY_GOAL})


class MatchEvent(models.Model):
    """One entry of a match timeline.

    For every goal kind, `team` is the team credited with the goal; for an own goal the
    `player` therefore plays for the other side. An event with `supersedes` set corrects an
    earlier one (a disallowed goal, a changed scorer); the superseded event stays in the
    timeline for the record but no longer counts.
    """

    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    period = models.PositiveSmallIntegerField(
        default=0, help_text="1, 2; 3, 4 extra time; 5 shootout"
    )
    minute = models.PositiveSmallIntegerField(null=True, blank=True)
    stoppage = models.PositiveSmallIntegerField(
        default=0, help_text="added minutes, e.g. 4 in 90+4"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    player = models.ForeignKey(
        Player, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    related_player = models.ForeignKey(
        Player,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the player replaced, for a substitution",
    )
    scored = models.BooleanField(null=True, blank=True, help_text="shootout kicks only")
    status = models.CharField(max_length=16, choices=MatchStatus.choices, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    # The structured payload of a line-up or a statistics update (matches/centre.py).
    data = models.JSONField(null=True, blank=True)
    # CASCADE: a correction means nothing without the event it corrects. Events are only
    # ever deleted with their match (a replay re-created under its slug, an operator's
    # delete); PROTECT made such a match undeletable once VAR had overturned a goal.
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="superseded_by"
    )
    provider = models.CharField(max_length=40, blank=True)
    # NULL, not "", for "no provider id": the partial unique constraint then skips it.
    provider_event_id = models.CharField(max_length=80, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["match", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["match", "seq"], name="event_unique_seq"),
            models.UniqueConstraint(
                fields=["provider", "provider_event_id"],
                condition=Q(provider_event_id__isnull=False),
                name="event_unique_provider_id",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_kind_display()} {self.clock}"

    @property
    def clock(self) -> str:
        if self.minute is None:
            return ""
        return f"{self.minute}+{self.stoppage}'" if self.stoppage else f"{self.minute}'"


class FeedEvent(models.Model):
    """One event received from a provider feed, kept as received.

    Events are applied in the provider's per-match `provider_seq` order; one that arrives
    ahead of a gap waits here (`pending`) until the gap fills or times out.
    """

    class State(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        DUPLICATE = "duplicate"
        REJECTED = "rejected"
        SKIPPED = "skipped"

    provider = models.CharField(max_length=40)
    provider_event_id = models.CharField(max_length=80)
    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="feed_events")
    provider_seq = models.PositiveIntegerField()
    payload = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    error = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_event_id"], name="feed_event_unique_id"
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "match", "state", "provider_seq"]),
            # The reconciler's scan every few seconds: only the (few) pending rows.
            models.Index(
                fields=["received_at"], condition=Q(state="pending"), name="feed_event_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_event_id} ({self.state})"


class FeedCursor(models.Model):
    """The last provider sequence number applied for one provider and match."""

    provider = models.CharField(max_length=40)
    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="feed_cursors")
    last_seq = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "match"], name="feed_cursor_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.match_id}@{self.last_seq}"
