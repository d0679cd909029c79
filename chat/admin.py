"""Chat in the operators' console: rooms (slow mode, moderators), messages, the report
queue, sanctions, the blocklist and allowed link domains, and the audit trail.

Every moderation action here goes through chat/moderation.py, so it is audited with the
operator as actor and reaches every client, exactly as over the API. Message text is shown
escaped (Django admin escapes whatever it displays)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from chat import filters, moderation
from chat.models import (
    AllowedDomain,
    BlockedTerm,
    Message,
    ModerationAction,
    Report,
    Room,
    RoomModerator,
    Sanction,
)
from core.errors import DomainError
from core.users import signed_in


def _run(request: HttpRequest, done: str, work: Any, items: Any) -> None:
    """Run a service per item; a refused one is reported, the others still run."""
    count = 0
    for item in items:
        try:
            work(item)
            count += 1
        except DomainError as exc:
            messages.error(request, f"{item}: {exc}")
    if count:
        messages.success(request, f"{done}: {count}")


class RoomModeratorInline(admin.TabularInline):
    model = RoomModerator
    extra = 0
    raw_id_fields = ["user"]


class RoomForm(forms.ModelForm):
    reason = forms.CharField(max_length=200, required=False, help_text="for the audit trail")

    class Meta:
        model = Room
        fields = ["slow_seconds"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    form = RoomForm
    list_display = ["id", "match", "league", "slow_seconds"]
    search_fields = ["match__slug", "league__name"]
    list_select_related = ["match", "league"]
    inlines = [RoomModeratorInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rooms come with their match or league

    def save_model(self, request: HttpRequest, obj: Room, form: Any, change: bool) -> None:
        # Slow mode through the service: audited, mirrored to Redis, announced to clients.
        if "slow_seconds" in form.changed_data:
            seconds = obj.slow_seconds
            obj.slow_seconds = Room.objects.get(pk=obj.pk).slow_seconds
            moderation.slow_mode_set(
                actor=signed_in(request),
                room=obj,
                seconds=seconds,
                reason=form.cleaned_data["reason"],
            )
            obj.refresh_from_db()


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "room", "user", "text", "created_at", "shadow", "hidden", "deleted_at"]
    list_filter = ["hidden", "shadow", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["text", "user__username"]
    raw_id_fields = ["room", "user"]
    readonly_fields = [f.name for f in Message._meta.fields]
    actions = ["delete_messages", "restore_messages"]
    list_select_related = ["user"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # "delete" is the audited action below, not a row deletion

    @admin.action(description="Delete (from history and every client)")
    def delete_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        delete = lambda m: moderation.message_delete(actor=signed_in(request), message_id=m.pk)  # noqa: E731
        _run(request, "deleted", delete, queryset)

    @admin.action(description="Restore a hidden message (dismiss its reports)")
    def restore_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        def restore(m: Message) -> object:
            return moderation.report_review(actor=signed_in(request), message_id=m.pk, uphold=False)

        _run(request, "restored", restore, queryset.filter(hidden=True))


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The report queue: open reports, with the message and its neighbours for context."""

    list_display = ["message_text", "reports", "message_hidden", "reporter", "reason", "state"]
    list_filter = ["state", "message__hidden"]
    readonly_fields = ["message", "reporter", "reason", "state", "created_at", "context"]
    actions = ["uphold", "dismiss"]
    list_select_related = ["message", "reporter"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Report]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n=Count("message__reports", filter=Q(message__reports__state=Report.State.OPEN))
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="message")
    def message_text(self, report: Report) -> str:
        return report.message.text

    @admin.display(description="open reports", ordering="n")
    def reports(self, report: Any) -> int:
        return report.n

    @admin.display(description="hidden", boolean=True)
    def message_hidden(self, report: Report) -> bool:
        return report.message.hidden

    @admin.display(description="context")
    def context(self, report: Report) -> str:
        around = Message.objects.filter(room_id=report.message.room_id)
        before = around.filter(id__lt=report.message_id).order_by("-id")[:5]
        after = around.filter(id__gte=report.message_id).order_by("id")[:6]
        rows = [*reversed(before), *after]
        return format_html_join(
            "\n",
            "<div{}><b>{}</b>: {}</div>",
            ((' style="background:#fe9"' if m.pk == report.message_id else "", m.user, m.text)
             for m in rows),
        )  # fmt: skip

    @admin.action(description="Uphold: delete the message")
    def uphold(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        ids = set(queryset.values_list("message_id", flat=True))
        actor = signed_in(request)
        work = lambda i: moderation.report_review(actor=actor, message_id=i, uphold=True)  # noqa: E731
        _run(request, "deleted", work, ids)

    @admin.action(description="Dismiss: restore the message")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[Report]) -> None:
        ids = set(queryset.values_list("message_id", flat=True))
        actor = signed_in(request)
        work = lambda i: moderation.report_review(actor=actor, message_id=i, uphold=False)  # noqa: E731
        _run(request, "restored", work, ids)


class SanctionForm(forms.ModelForm):
    minutes = forms.IntegerField(min_value=1, max_value=525600, required=False,
                                 help_text="empty: until lifted")  # fmt: skip

    class Meta:
        model = Sanction
        fields = ["user", "room", "kind", "reason"]


@admin.register(Sanction)
class SanctionAdmin(admin.ModelAdmin):
    form = SanctionForm
    list_display = ["user", "kind", "room", "until", "reason", "by", "created_at", "lifted_at"]
    list_filter = ["kind", ("lifted_at", admin.EmptyFieldListFilter)]
    raw_id_fields = ["user", "room"]
    actions = ["lift"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Sanction, form: Any, change: bool) -> None:
        data = form.cleaned_data
        obj.pk = moderation.sanction_create(
            actor=signed_in(request), user_id=data["user"].pk, kind=data["kind"], room=data["room"],
            minutes=data["minutes"], reason=data["reason"],
        ).pk  # fmt: skip

    @admin.action(description="Lift")
    def lift(self, request: HttpRequest, queryset: QuerySet[Sanction]) -> None:
        work = lambda s: moderation.sanction_lift(actor=signed_in(request), sanction_id=s.pk)  # noqa: E731
        _run(request, "lifted", work, queryset.filter(lifted_at__isnull=True))


class BlockedTermForm(forms.ModelForm):
    class Meta:
        model = BlockedTerm
        fields = ["term", "kind", "active", "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == BlockedTerm.Kind.PATTERN:
            try:
                re.compile(data.get("term", ""))
            except re.error as exc:
                raise ValidationError({"term": f"not a valid regular expression: {exc}"}) from exc
        return data


@admin.register(BlockedTerm)
class BlockedTermAdmin(admin.ModelAdmin):
    form = BlockedTermForm
    list_display = ["term", "kind", "active", "note", "created_at"]
    list_filter = ["kind", "active"]
    search_fields = ["term"]

    def save_model(self, request: HttpRequest, obj: BlockedTerm, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        filters.forget()  # this process at once; the gateways within RELOAD_SECONDS


@admin.register(AllowedDomain)
class AllowedDomainAdmin(admin.ModelAdmin):
    list_display = ["domain"]


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The audit trail, read-only."""

    list_display = ["created_at", "action", "actor", "room", "target", "message_id", "reason"]
    list_filter = ["action"]
    search_fields = ["reason", "target__username", "actor__username"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
