from django.contrib import admin

from predictions.models import Joker, League, Outright, ScoringRules, SettlementChunk, SettlementRun


@admin.register(ScoringRules)
class ScoringRulesAdmin(admin.ModelAdmin):
    list_display = [
        "competition",
        "exact_score",
        "goal_difference",
        "score_outcome",
        "winner",
        "rarity_bonus",
        "jokers",
    ]


CHUNK_FIELDS = ("user_from", "user_to", "state", "rows", "attempts", "updated_at")


class ChunkInline(admin.TabularInline):
    model = SettlementChunk
    fields = CHUNK_FIELDS
    readonly_fields = CHUNK_FIELDS
    extra = 0
    can_delete = False


@admin.register(SettlementRun)
class SettlementRunAdmin(admin.ModelAdmin):
    list_display = ["match", "result_version", "void", "chunks_done", "chunks_total", "finished_at"]
    readonly_fields = [
        "match",
        "result_version",
        "void",
        "bonuses",
        "chunks_total",
        "chunks_done",
        "finished_at",
    ]
    inlines = [ChunkInline]


@admin.register(League)
class LeagueAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    search_fields = ["name", "owner__username"]


@admin.register(Joker)
class JokerAdmin(admin.ModelAdmin):
    """Fans' jokers: read-only here (fans play them; settlement counts them)."""

    list_display = ["user", "stage", "match", "updated_at"]
    list_select_related = ["user", "stage", "match"]
    search_fields = ["user__username", "match__slug"]
    readonly_fields = ["user", "stage", "match", "updated_at"]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(Outright)
class OutrightAdmin(admin.ModelAdmin):
    """Fans' tournament picks: read-only here (fans make them; settlement scores them)."""

    list_display = ["user", "competition", "kind", "team", "player", "points"]
    list_filter = ["competition", "kind"]
    list_select_related = ["user", "competition", "team", "player"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "competition", "kind", "team", "player", "points", "updated_at"]

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False
