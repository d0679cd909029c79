"""Chat rooms, messages and their moderation. PostgreSQL is the truth for all of it; Redis
holds the hot side (recent messages, rate and slow-mode state, active sanctions) and is
rebuilt from here (chat/live.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from matches.models import Match
from predictions.models import League


class Room(models.Model):
    """One per match (public: anyone reads, signed-in fans write) and one per private league
    (members only). Created with the match or league (chat/signals.py)."""

    match = models.OneToOneField(
        Match, null=True, blank=True, on_delete=models.CASCADE, related_name="chat_room"
    )
    league = models.OneToOneField(
        League, null=True, blank=True, on_delete=models.CASCADE, related_name="chat_room"
    )
    # Operator slow mode: one message per this many seconds per fan (0: off). Automatic slow
    # mode (a flood) lives only in Redis, for as long as the flood lasts.
    slow_seconds = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(match__isnull=False, league__isnull=True)
                | Q(match__isnull=True, league__isnull=False),
                name="room_of_match_xor_league",
            ),
            models.CheckConstraint(condition=Q(slow_seconds__lte=3600), name="room_slow_bounded"),
        ]

    def __str__(self) -> str:
        return f"room {self.pk} ({(self.match_id and 'match') or 'league'})"

    @property
    def public(self) -> bool:
        return self.league_id is None


class Message(models.Model):
    """A posted message. The id is assigned in Redis when the message is accepted (time
    ordered: milliseconds * 1024 + a counter), so rows arrive here in batches after the
    fans already saw them; `ON CONFLICT DO NOTHING` makes a re-flushed batch harmless."""

    id = models.BigIntegerField(primary_key=True)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.CharField(max_length=280)
    cid = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    shadow = models.BooleanField(default=False)  # posted while shadow-muted: author-only
    hidden = models.BooleanField(default=False)  # reported by enough fans, pending review
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A retried post (same client message id) is never stored twice.
            models.UniqueConstraint(fields=["user", "cid"], name="message_cid_once"),
        ]
        indexes = [models.Index(fields=["room", "-id"], name="message_room_recent")]

    def __str__(self) -> str:
        return f"{self.pk}: {self.text[:40]}"

    @property
    def visible(self) -> bool:
        return not (self.shadow or self.hidden or self.deleted_at)


class RoomModerator(models.Model):
    """A moderator of one room. Global moderators hold the `chat.moderate` permission."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="moderators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "user"], name="moderator_once")]

    def __str__(self) -> str:
        return f"{self.user_id} moderates {self.room_id}"


class BlockedTerm(models.Model):
    """A blocklist entry, matched against the folded text (chat/text.py), so case, accents,
    l33t digits, look-alike letters, spacing and zero-width characters do not evade it."""

    class Kind(models.TextChoices):
        WORD = "word", "whole word (or words)"
        SUBSTRING = "substring", "anywhere, even inside words"
        PATTERN = (
            "pattern",
            "regular expression (case-insensitive, on the text and folded)",
        )

    term = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WORD)
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["term", "kind"], name="blocked_term_once")]

    def __str__(self) -> str:
        return f"{self.term} ({self.kind})"


class AllowedDomain(models.Model):
    """Links are refused unless their host is one of these (or a subdomain of one)."""

    domain = models.CharField(max_length=200, unique=True)

    def __str__(self) -> str:
        return self.domain


class Sanction(models.Model):
    """A mute (cannot post), ban (cannot read or post) or shadow-mute (posts are seen by the
    author only), in one room or everywhere (room empty), until a time or for good."""

    class Kind(models.TextChoices):
        MUTE = "mute"
        BAN = "ban"
        SHADOW = "shadow"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_sanctions"
    )
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.CASCADE)
    kind = models.CharField(max_length=6, choices=Kind.choices)
    until = models.DateTimeField(null=True, blank=True)  # empty: until lifted
    reason = models.CharField(max_length=200)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "lifted_at"], name="sanction_user_active")]

    def __str__(self) -> str:
        where = f"room {self.room_id}" if self.room_id else "everywhere"
        return f"{self.kind} of {self.user_id} in {where}"


class Report(models.Model):
    """A fan's report of a message; enough distinct reporters hide it pending review."""

    class State(models.TextChoices):
        OPEN = "open"
        UPHELD = "upheld"  # the message was deleted
        DISMISSED = "dismissed"  # the message was restored

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    reason = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=9, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "reporter"], name="report_once"),
        ]

    def __str__(self) -> str:
        return f"report of {self.message_id} by {self.reporter_id}"


class ModerationAction(models.Model):
    """The audit trail: every moderator action and every filter refusal (who, what, when,
    why). Filter refusals (actor empty) arrive in batches with the messages."""

    class Action(models.TextChoices):
        DELETE = "delete"
        CLEAR = "clear"
        MUTE = "mute"
        BAN = "ban"
        SHADOW = "shadow"
        LIFT = "lift"
        SLOW_MODE = "slow_mode"
        HIDE = "hide"  # hidden by reports
        RESTORE = "restore"  # a hidden message put back after review
        DISMISS = "dismiss"  # reports dismissed
        BLOCKED = "blocked"  # filter: blocklist
        LINK = "link"  # filter: link policy
        DUPLICATE = "duplicate"  # filter: the same text again

    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL)
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="moderation_recent")]
        permissions = [("moderate", "Can moderate every chat room")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id or 'filter'} at {self.created_at:%H:%M:%S}"
