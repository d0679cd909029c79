"""Follows, preferences, devices, and the notices the pipeline sends (docs/notifications.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from matches.models import Match, MatchEvent, Team
from notifications.kinds import ALL_BITS, KINDS

DEFAULT_KINDS = sum(KINDS[k].bit for k in ("kickoff", "goal", "red_card", "full_time", "var"))


class Follow(models.Model):
    """A fan follows a team (all its matches) or one match, with the kinds they want."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    match = models.ForeignKey(
        Match, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kinds = models.PositiveIntegerField(
        default=DEFAULT_KINDS, validators=[MaxValueValidator(ALL_BITS)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=False, match__isnull=True)
                | Q(team__isnull=True, match__isnull=False),
                name="follow_team_or_match",
            ),
            models.UniqueConstraint(
                fields=["user", "team"], condition=Q(team__isnull=False), name="follow_unique_team"
            ),
            models.UniqueConstraint(
                fields=["user", "match"],
                condition=Q(match__isnull=False),
                name="follow_unique_match",
            ),
        ]
        # The fan-out reads followers of a team or match in user-id order, by range.
        indexes = [
            models.Index(fields=["team", "user"], name="follow_team_user"),
            models.Index(fields=["match", "user"], name="follow_match_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.team or self.match}"


class Preferences(models.Model):
    """A fan's delivery settings: time zone and quiet hours, spoiler delay, cap, reminder."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name")
    quiet_from = models.TimeField(null=True, blank=True, help_text="local time")
    quiet_to = models.TimeField(null=True, blank=True, help_text="local time")
    delay = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(120)], help_text="spoiler delay, seconds"
    )
    cap = models.PositiveSmallIntegerField(
        default=3, validators=[MaxValueValidator(20)], help_text="pushes per match per minute"
    )
    reminder_minutes = models.PositiveSmallIntegerField(
        default=30, validators=[MaxValueValidator(1440)], help_text="before the prediction lock"
    )

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"


class Device(models.Model):
    """Where a fan's pushes go: a browser's Web Push subscription, or a token of the HTTP-API
    backend (a mini-app platform or an FCM-like gateway)."""

    class Backend(models.TextChoices):
        WEBPUSH = "webpush", "Web Push"
        HTTP = "http", "HTTP API"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    device_id = models.CharField(max_length=64, help_text="the client's own id for the device")
    backend = models.CharField(max_length=16, choices=Backend.choices)
    endpoint = models.URLField(max_length=1024, blank=True)
    p256dh = models.CharField(max_length=128, blank=True)
    auth = models.CharField(max_length=64, blank=True)
    token = models.CharField(max_length=4096, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "device_id"], name="device_unique_per_user"),
            # A browser subscription belongs to one fan at a time: a new sign-in takes it.
            models.UniqueConstraint(
                fields=["endpoint"], condition=~Q(endpoint=""), name="device_unique_endpoint"
            ),
        ]
        indexes = [models.Index(fields=["user"], name="device_user")]

    def __str__(self) -> str:
        return f"{self.backend} device {self.device_id} of {self.user_id}"


class Notice(models.Model):
    """One thing to tell fans (a goal, a red card, a correction after VAR, a reminder, a
    digest), sent once to its audience in chunks of followers by user id."""

    class State(models.TextChoices):
        HELD = "held", "Held (hold window)"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled (disallowed within the hold window)"

    key = models.CharField(max_length=100, unique=True, help_text="what makes it once")
    kind = models.CharField(max_length=16)
    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(
        MatchEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="corrections"
    )
    payload = models.JSONField(help_text="what the device receives (docs/notifications.md)")
    state = models.CharField(max_length=16, choices=State.choices, default=State.HELD)
    send_after = models.DateTimeField(db_index=True)
    chunks_total = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "send_after"], name="notice_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.state})"


class NoticeChunk(models.Model):
    """The followers of a notice with user ids in [user_from, user_to]: one task's work."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="chunks")
    user_from = models.BigIntegerField()
    user_to = models.BigIntegerField()
    delay = models.PositiveSmallIntegerField(default=0, help_text="the fans' spoiler delay")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    pruned = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "user_from", "delay"], name="notice_chunk_unique"
            )
        ]
        indexes = [models.Index(fields=["state", "updated_at"], name="notice_chunk_stale")]

    def __str__(self) -> str:
        return f"chunk {self.user_from}-{self.user_to} of notice {self.notice_id}"
