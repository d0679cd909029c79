"""Fans' reactions to the moments of a match (docs/social.md)."""

from django.conf import settings
from django.db import models

from matches.models import MatchEvent


class ReactionKind(models.TextChoices):
    """The fixed set, drawn from one sprite in the web client."""

    FIRE = "fire", "Fire"
    CLAP = "clap", "Applause"
    HEART = "heart", "Love"
    WOW = "wow", "Wow"
    LAUGH = "laugh", "Laughing"
    CRY = "cry", "Crying"
    ANGRY = "angry", "Angry"
    PARTY = "party", "Party"


class Reaction(models.Model):
    """A fan's reaction to one moment: one per fan and moment, changed in place. Written in
    batches from Redis, where the counts are hot (social/reactions.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reactions"
    )
    event = models.ForeignKey(MatchEvent, on_delete=models.CASCADE, related_name="reactions")
    kind = models.CharField(max_length=8, choices=ReactionKind.choices)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="reaction_once_per_moment"),
        ]
        indexes = [models.Index(fields=["event", "kind"], name="reaction_event_kind")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} on {self.event_id}"
