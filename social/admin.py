from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from social.models import Reaction


@admin.register(Reaction)
class ReactionAdmin(admin.ModelAdmin):
    """Read-only: reactions are written by their flush from Redis (docs/social.md)."""

    list_display = ["event", "user", "kind", "updated_at"]
    list_filter = ["kind"]
    raw_id_fields = ["event", "user"]
    search_fields = ["user__username", "event__match__slug"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
