from django.contrib import admin

from notifications.kinds import names_of
from notifications.models import Device, Follow, Notice, NoticeChunk, Preferences


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "match", "kind_names", "created_at"]
    list_select_related = ["user", "team", "match"]
    raw_id_fields = ["user", "match"]
    search_fields = ["user__username", "team__code"]

    @admin.display(description="kinds")
    def kind_names(self, obj: Follow) -> str:
        return ", ".join(names_of(obj.kinds))


@admin.register(Preferences)
class PreferencesAdmin(admin.ModelAdmin):
    list_display = ["user", "timezone", "quiet_from", "quiet_to", "delay", "cap"]
    raw_id_fields = ["user"]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "device_id", "backend", "created_at"]
    list_filter = ["backend"]
    raw_id_fields = ["user"]
    search_fields = ["user__username", "device_id"]
    readonly_fields = ["p256dh", "auth", "token"]


class ChunkInline(admin.TabularInline):
    model = NoticeChunk
    extra = 0
    can_delete = False
    fields = (
        "user_from",
        "user_to",
        "delay",
        "state",
        "attempts",
        "sent",
        "failed",
        "pruned",
        "skipped",
    )
    readonly_fields = fields


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    """The pipeline's progress on match night: each notice, its chunks and their counts."""

    list_display = ["key", "kind", "match", "state", "send_after", "chunks_total", "finished_at"]
    list_filter = ["state", "kind"]
    search_fields = ["key", "match__slug"]
    readonly_fields = ("key", "kind", "match", "event", "corrects", "payload", "send_after",
                       "chunks_total", "created_at", "finished_at")  # fmt: skip
    inlines = [ChunkInline]
