"""Predictions, scoring rules, settlement bookkeeping, totals and private leagues.

Rows change through predictions.services (submissions, leagues) and predictions.settlement
(scoring); see docs/scoring.md for the rules.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from matches.models import Competition, Match, Player, Stage


class ScoringRules(models.Model):
    """Points per kind; one row per competition (competitions without one use the defaults)."""

    competition = models.OneToOneField(
        Competition, on_delete=models.CASCADE, related_name="scoring_rules"
    )
    exact_score = models.PositiveSmallIntegerField(default=10)
    goal_difference = models.PositiveSmallIntegerField(default=5)
    score_outcome = models.PositiveSmallIntegerField(default=2)
    winner = models.PositiveSmallIntegerField(default=3)
    first_scorer = models.PositiveSmallIntegerField(default=5)
    possession = models.PositiveSmallIntegerField(default=3)
    # Knockout rules: whether extra-time goals count in the score, and whether the shootout
    # winner is the match winner (otherwise a match level after extra time is a draw).
    extra_time_counts = models.BooleanField(default=True)
    penalties_decide_winner = models.BooleanField(default=True)
    # The prediction game (docs/scoring.md): every match of a stage counts this many times,
    # e.g. {"quarter-finals": 2, "semi-finals": 2, "final": 3}; stages not named count once.
    stage_multipliers = models.JSONField(
        default=dict, blank=True, help_text='stage slug -> multiplier, e.g. {"final": 3}'
    )
    # Up to this many extra points for a right pick, the fewer fans shared it the more.
    rarity_bonus = models.PositiveSmallIntegerField(default=0)
    jokers = models.BooleanField(default=True, help_text="one double-points joker per stage")
    # Outright predictions for the whole tournament (docs/scoring.md).
    outright_champion = models.PositiveSmallIntegerField(default=20)
    outright_finalist = models.PositiveSmallIntegerField(default=10, help_text="per finalist")
    outright_top_scorer = models.PositiveSmallIntegerField(default=15)

    class Meta:
        verbose_name_plural = "scoring rules"

    def __str__(self) -> str:
        return f"Scoring rules for {self.competition}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        multipliers = self.stage_multipliers
        if not isinstance(multipliers, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and 1 <= v <= 10
            for k, v in multipliers.items()
        ):
            raise ValidationError(
                {"stage_multipliers": "an object of stage slug -> whole number from 1 to 10"}
            )

    def multiplier_for(self, stage_slug: str) -> int:
        return int((self.stage_multipliers or {}).get(stage_slug, 1))


class Kind(models.TextChoices):
    SCORE = "score", "Exact final score"
    WINNER = "winner", "Match winner"
    FIRST_SCORER = "first_scorer", "First goal scorer"
    POSSESSION = "possession", "Home possession band"


class Outcome(models.TextChoices):
    HOME = "H", "Home win"
    DRAW = "D", "Draw"
    AWAY = "A", "Away win"


class Band(models.IntegerChoices):
    """Home team's ball possession, in percent."""

    UNDER_40 = 1, "0-39%"
    FROM_40 = 2, "40-49%"
    FROM_50 = 3, "50-59%"
    FROM_60 = 4, "60-100%"


class Prediction(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        SETTLED = "settled"
        VOID = "void"

    # No single-column indexes: (user, match, kind) and (match, user) cover both lookups, and
    # every index is one more write per inserted row.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False)
    # PROTECT: settled points are in fans' totals and boards; a match fans predicted on is
    # cancelled (which voids its predictions), never deleted.
    match = models.ForeignKey(
        Match, on_delete=models.PROTECT, related_name="predictions", db_index=False
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    home_goals = models.PositiveSmallIntegerField(null=True, blank=True)
    away_goals = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=1, choices=Outcome.choices, blank=True)
    player = models.ForeignKey(Player, null=True, blank=True, on_delete=models.SET_NULL)
    no_goal = models.BooleanField(default=False)
    band = models.PositiveSmallIntegerField(choices=Band.choices, null=True, blank=True)
    points = models.IntegerField(default=0)
    # A right exact score at the settled version: the boards' first tie-break.
    exact = models.BooleanField(default=False)
    # The match result_version these points were scored against (0: never settled).
    settled_version = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "match", "kind"], name="prediction_one_per_kind"
            ),
            models.CheckConstraint(
                condition=~Q(kind="score") | Q(home_goals__isnull=False, away_goals__isnull=False),
                name="prediction_score_has_goals",
            ),
            models.CheckConstraint(
                condition=~Q(kind="winner") | ~Q(outcome=""), name="prediction_winner_has_outcome"
            ),
            models.CheckConstraint(
                condition=~Q(kind="first_scorer") | Q(player__isnull=False) | Q(no_goal=True),
                name="prediction_scorer_has_player",
            ),
            models.CheckConstraint(
                condition=~Q(kind="possession") | Q(band__isnull=False),
                name="prediction_possession_has_band",
            ),
        ]
        # Settlement scans one match by user range.
        indexes = [models.Index(fields=["match", "user"], name="prediction_match_user")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.match_id} {self.kind}"


class Outright(models.Model):
    """A pick for the whole tournament: the champion, each of the two finalists, the top
    scorer. Locked at the tournament's first kick-off, settled when decided."""

    class Kind(models.TextChoices):
        CHAMPION = "champion"
        FINALIST = "finalist"  # two rows, one per finalist
        TOP_SCORER = "top_scorer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    competition = models.ForeignKey(Competition, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    team = models.ForeignKey(
        "matches.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    player = models.ForeignKey(Player, null=True, blank=True, on_delete=models.PROTECT)
    points = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "competition", "kind", "team", "player"], name="outright_once"
            ),
        ]
        indexes = [models.Index(fields=["competition", "user"], name="outright_competition_user")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.team_id or self.player_id}"


class Joker(models.Model):
    """A fan's double-points joker for one stage ("round"), on one match of it; it moves
    freely between the stage's matches until the match it is on kicks off."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    # PROTECT as for predictions: a joker is part of settled points.
    match = models.ForeignKey(Match, on_delete=models.PROTECT, related_name="jokers")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "stage"], name="joker_one_per_stage"),
        ]
        # Settlement joins a match's jokers by (match, user).
        indexes = [models.Index(fields=["match", "user"], name="joker_match_user")]

    def __str__(self) -> str:
        return f"{self.user_id} joker on {self.match_id}"


class UserScore(models.Model):
    """A fan's total points over every settled prediction (the global leaderboard's truth)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="score"
    )
    points = models.IntegerField(default=0)
    exacts = models.IntegerField(default=0)  # right exact scores settled: the first tie-break
    # Grows with every change of `points`; leaderboard writes carry it so an older write
    # arriving late cannot overwrite a newer total.
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.points}"


class SettlementRun(models.Model):
    """Settlement of one match at one result version, split into user-range chunks."""

    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="settlement_runs")
    result_version = models.PositiveIntegerField()
    void = models.BooleanField(default=False)
    # Rarity bonus per kind for a right pick, fixed for the run from the whole match's
    # counters when it starts (every chunk scores with the same figures).
    bonuses = models.JSONField(default=dict, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["match", "result_version"], name="settlement_run_once"),
        ]

    def __str__(self) -> str:
        return f"{self.match_id} v{self.result_version} {self.chunks_done}/{self.chunks_total}"


class SettlementChunk(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"  # not scored yet
        SCORED = "scored"  # committed in PostgreSQL, leaderboards not yet written
        DONE = "done"  # leaderboards written

    run = models.ForeignKey(SettlementRun, on_delete=models.CASCADE, related_name="chunks")
    user_from = models.BigIntegerField()
    user_to = models.BigIntegerField()  # inclusive
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    rows = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["state", "updated_at"], name="settlement_chunk_state")]

    def __str__(self) -> str:
        return f"chunk {self.user_from}-{self.user_to} ({self.state})"


class League(models.Model):
    name = models.CharField(max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_leagues"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="LeagueMember", related_name="leagues"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class LeagueMember(models.Model):
    league = models.ForeignKey(League, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["league", "user"], name="league_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.league_id}"


class LeagueInvite(models.Model):
    league = models.ForeignKey(League, on_delete=models.CASCADE, related_name="invites")
    code = models.CharField(max_length=16, unique=True)
    expires_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(default=50)
    uses = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(uses__lte=models.F("max_uses")), name="invite_uses"),
        ]

    def __str__(self) -> str:
        return self.code
