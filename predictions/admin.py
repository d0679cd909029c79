from django.contrib import admin

from predictions.models import League, ScoringRules, SettlementChunk, SettlementRun


@admin.register(ScoringRules)
class ScoringRulesAdmin(admin.ModelAdmin):
    list_display = ["competition", "exact_score", "goal_difference", "score_outcome", "winner"]


class ChunkInline(admin.TabularInline):
    model = SettlementChunk
    fields = ["user_from", "user_to", "state", "rows", "attempts", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(SettlementRun)
class SettlementRunAdmin(admin.ModelAdmin):
    list_display = ["match", "result_version", "void", "chunks_done", "chunks_total", "finished_at"]
    readonly_fields = [
        "match",
        "result_version",
        "void",
        "chunks_total",
        "chunks_done",
        "finished_at",
    ]
    inlines = [ChunkInline]


@admin.register(League)
class LeagueAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    search_fields = ["name", "owner__username"]
