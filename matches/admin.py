"""Django admin as the match operators' console.

Scheduling fields (kickoff, venue) are edited on the match form; everything that happens in
a match (status, goals, cards, VAR) goes through the console page and the list actions, which
call the same services as the API and the provider feed. Score, status and seq are read-only
on the form: they are derived from the timeline.

Longer than the app's other modules on purpose: one screen of the console per model (and
the match console page with its forms), each small; split across modules they would
scatter what an operator sees together.
"""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from matches import bracket, centre, services
from matches.models import (
    GOAL_KINDS,
    Competition,
    EventKind,
    FeedEvent,
    Fixture,
    Match,
    MatchEvent,
    MatchStatus,
    Player,
    Stage,
    Team,
)


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0


@admin.register(Competition)
class CompetitionAdmin(admin.ModelAdmin):
    list_display = ["name", "season", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StageInline]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "flag"]
    search_fields = ["name", "code"]


@admin.register(Player)
class PlayerAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "number", "position", "club"]
    list_filter = ["team", "position"]
    search_fields = ["name", "team__name", "team__code"]
    list_select_related = ["team"]


class MatchEventInline(admin.TabularInline):
    """The timeline, read-only: events are only added through services."""

    model = MatchEvent
    fk_name = "match"
    fields = ("seq", "kind", "clock", "team", "player", "scored", "status", "detail", "supersedes")
    readonly_fields = fields
    ordering = ["seq"]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[MatchEvent]:
        return super().get_queryset(request).select_related("team", "player", "supersedes")


# ---- console forms: each maps onto one service call -------------------------------------


class ConsoleForm(forms.Form):
    """A console action: built for one match, applied through the services."""

    title = ""

    def __init__(self, *args: Any, match: Match, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def apply(self, match: Match) -> services.Recorded:
        raise NotImplementedError

    def choose(self, name: str, choices: list[tuple[str, str]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def among(self, name: str, queryset: QuerySet[Any]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = queryset


class StatusForm(ConsoleForm):
    title = "Move period / status"
    status = forms.ChoiceField(choices=MatchStatus.choices)
    minute = forms.IntegerField(min_value=0, max_value=130, required=False)

    def __init__(self, *args: Any, match: Match, **kwargs: Any) -> None:
        super().__init__(*args, match=match, **kwargs)
        allowed = services.match_next_statuses(match)
        self.choose("status", [c for c in MatchStatus.choices if c[0] in allowed])

    def apply(self, match: Match) -> services.Recorded:
        d = self.cleaned_data
        return services.match_change_status(match=match, status=d["status"], minute=d["minute"])


class _TeamPlayerForm(ConsoleForm):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    player = forms.ModelChoiceField(queryset=Player.objects.none(), required=False)

    def __init__(self, *args: Any, match: Match, **kwargs: Any) -> None:
        super().__init__(*args, match=match, **kwargs)
        self.among("team", Team.objects.filter(pk__in=[match.home_id, match.away_id]))
        players = Player.objects.filter(team_id__in=[match.home_id, match.away_id])
        self.among("player", players.select_related("team"))


class _TimedEventForm(_TeamPlayerForm):
    """An in-play event at a minute; subclasses name the kinds they offer."""

    KINDS: tuple[str, ...] = ()
    kind = forms.ChoiceField()
    minute = forms.IntegerField(min_value=0, max_value=120)
    stoppage = forms.IntegerField(min_value=0, max_value=30, initial=0)

    def __init__(self, *args: Any, match: Match, **kwargs: Any) -> None:
        super().__init__(*args, match=match, **kwargs)
        self.choose("kind", [(k, EventKind(k).label) for k in self.KINDS])

    def apply(self, match: Match) -> services.Recorded:
        d = self.cleaned_data
        return services.match_record_event(
            match=match,
            kind=d["kind"],
            team=d["team"],
            player=d["player"],
            minute=d["minute"],
            stoppage=d["stoppage"],
        )


class GoalForm(_TimedEventForm):
    title = "Record goal"
    KINDS = (EventKind.GOAL, EventKind.PENALTY_GOAL, EventKind.OWN_GOAL)


class IncidentForm(_TimedEventForm):
    title = "Card, missed penalty, VAR"
    KINDS = (EventKind.YELLOW, EventKind.RED, EventKind.MISSED_PENALTY, EventKind.VAR_REVIEW)


class DisallowForm(ConsoleForm):
    title = "Disallow goal (VAR)"
    goal = forms.ModelChoiceField(queryset=MatchEvent.objects.none())
    reason = forms.CharField(max_length=200, initial="VAR review: offside")

    def __init__(self, *args: Any, match: Match, **kwargs: Any) -> None:
        super().__init__(*args, match=match, **kwargs)
        goals = match.events.filter(kind__in=GOAL_KINDS, superseded_by__isnull=True)
        self.among("goal", goals.select_related("team", "player"))

    def apply(self, match: Match) -> services.Recorded:
        d = self.cleaned_data
        return services.match_disallow_goal(match=match, goal=d["goal"], reason=d["reason"])


class ShootoutForm(_TeamPlayerForm):
    title = "Shootout kick"
    scored = forms.BooleanField(required=False, initial=True)

    def apply(self, match: Match) -> services.Recorded:
        d = self.cleaned_data
        return services.match_record_shootout_kick(
            match=match, team=d["team"], player=d["player"], scored=d["scored"]
        )


class KickoffForm(ConsoleForm):
    """A delayed kick-off, or a postponed match's new date (predictions lock at it)."""

    title = "Move kick-off"

    kickoff = forms.DateTimeField(help_text="UTC, e.g. 2026-12-18 15:30")
    reason = forms.CharField(max_length=120, required=False)

    def apply(self, match: Match) -> services.Recorded:
        d = self.cleaned_data
        event = services.match_move_kickoff(match=match, kickoff=d["kickoff"], reason=d["reason"])
        return services.Recorded(event, created=True)


class ReplayForm(ConsoleForm):
    """An abandoned or cancelled match played again, as a new match."""

    title = "Schedule a replay"

    kickoff = forms.DateTimeField(help_text="UTC, e.g. 2026-12-20 15:00")

    def apply(self, match: Match) -> services.Recorded:
        services.match_schedule_replay(match=match, kickoff=self.cleaned_data["kickoff"])
        return services.Recorded(match.events.latest("seq"), created=True)  # its announcement


class LineupForm(_TeamPlayerForm):
    """A team's whole line-up, one player per line: `10 Lionel Messi, RW` (number and
    position optional)."""

    title = "Line-up"
    formation = forms.CharField(max_length=12, initial="4-3-3")
    starting = forms.CharField(widget=forms.Textarea(attrs={"rows": 11}), help_text="11 lines")
    bench = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    LINE = re.compile(r"^(?:(\d{1,2})\s+)?(.+?)(?:\s*,\s*([A-Za-z]{1,4}))?$")

    def __init__(self, *args: Any, match: Match, **kwargs: Any) -> None:
        super().__init__(*args, match=match, **kwargs)
        del self.fields["player"]

    def _players(self, text: str) -> list[dict[str, Any]]:
        rows = []
        for line in filter(None, (raw.strip() for raw in text.splitlines())):
            found = self.LINE.match(line)
            assert found is not None  # the pattern matches any non-empty line
            number, name, position = found.groups()
            rows.append(
                {"number": int(number) if number else None, "name": name, "position": position}
            )
        return rows

    def apply(self, match: Match) -> services.Recorded:
        d = self.cleaned_data
        return services.match_set_lineup(
            match=match,
            team=d["team"],
            formation=d["formation"],
            starting=self._players(d["starting"]),
            bench=self._players(d["bench"]),
        )


class StatsForm(ConsoleForm):
    """One period's figures so far for both teams (a later update of the period replaces it)."""

    title = "Statistics"
    period = forms.TypedChoiceField(
        coerce=int, choices=[(n, f"{n}: {s.replace('_', ' ')}") for n, s in centre.PERIODS.items()]
    )
    minute = forms.IntegerField(min_value=0, max_value=130, required=False)

    def __init__(self, *args: Any, match: Match, **kwargs: Any) -> None:
        super().__init__(*args, match=match, **kwargs)
        for side, team in (("home", match.home), ("away", match.away)):
            for key in centre.STAT_KEYS:
                top = 100 if key == "possession" else centre.MAX_STAT
                label = f"{team.code} {key.replace('_', ' ')}"
                self.fields[f"{side}_{key}"] = forms.IntegerField(
                    min_value=0, max_value=top, required=False, label=label
                )

    def _side(self, side: str) -> dict[str, int]:
        d = self.cleaned_data
        return {k: d[f"{side}_{k}"] for k in centre.STAT_KEYS if d.get(f"{side}_{k}") is not None}

    def apply(self, match: Match) -> services.Recorded:
        return services.match_set_stats(
            match=match,
            period=self.cleaned_data["period"],
            minute=self.cleaned_data["minute"],
            home=self._side("home"),
            away=self._side("away"),
        )


def _check_new_match(clean: Any) -> Any:
    """The admin form's clean, then the services' rules for a new match, as form errors."""

    def checked(form: forms.Form) -> Any:
        data = clean(form)
        if all(data.get(k) for k in ("home", "away", "kickoff")):
            try:
                services.match_check_new(
                    home=data["home"], away=data["away"], kickoff=data["kickoff"]
                )
            except services.MatchRuleError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data

    return checked


def _check_kickoff_move(clean: Any, match: Match) -> Any:
    """A kick-off moves only before the match starts: otherwise a form error, not a 500."""

    def checked(form: forms.Form) -> Any:
        data = clean(form)
        moved = data.get("kickoff") and data["kickoff"] != match.kickoff
        if moved and match.status not in (MatchStatus.SCHEDULED, MatchStatus.POSTPONED):
            raise forms.ValidationError(f"a {match.status} match's kick-off cannot move")
        return data

    return checked


CONSOLE_FORMS: dict[str, type[ConsoleForm]] = {
    "status": StatusForm,
    "goal": GoalForm,
    "incident": IncidentForm,
    "disallow": DisallowForm,
    "shootout": ShootoutForm,
    "kickoff": KickoffForm,
    "replay": ReplayForm,
    "lineup": LineupForm,
    "stats": StatsForm,
}


@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = ["slug", "home", "score", "away", "status", "minute", "kickoff", "stage"]
    list_filter = ["status", ("kickoff", admin.DateFieldListFilter), "competition", "stage"]
    search_fields = ["slug", "home__name", "away__name", "home__code", "away__code"]
    list_select_related = ["home", "away", "stage"]
    date_hierarchy = "kickoff"
    readonly_fields = [
        "slug",
        "status",
        "minute",
        "home_score",
        "away_score",
        "home_pens",
        "away_pens",
        "seq",
        "result_version",
        "started_at",
        "home_possession",  # recorded as an event (feed, operator API), like every stat
    ]
    inlines = [MatchEventInline]
    actions = ["start_matches", "end_matches"]
    change_form_template = "admin/matches/match/change_form.html"

    @admin.display(description="score")
    def score(self, match: Match) -> str:
        pens = f" ({match.home_pens}-{match.away_pens} p)" if match.home_pens is not None else ""
        return f"{match.home_score}-{match.away_score}{pens}"

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("matches.operate_match")

    def get_readonly_fields(self, request: HttpRequest, obj: Match | None = None) -> list[str]:
        if obj is None:  # a new match: teams and stage are chosen once
            return [f for f in self.readonly_fields if f != "slug"]
        return [*self.readonly_fields, "competition", "stage", "home", "away"]

    def get_form(
        self, request: HttpRequest, obj: Match | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Match]]:
        form = super().get_form(request, obj, change, **kwargs)
        clean = (
            _check_new_match(form.clean) if obj is None else _check_kickoff_move(form.clean, obj)
        )
        # A subclass with the services' checks in its clean, rather than patching the class
        # the admin built.
        return cast("type[forms.ModelForm[Match]]", type(form.__name__, (form,), {"clean": clean}))

    def save_model(self, request: HttpRequest, obj: Match, form: Any, change: bool) -> None:
        """Through the services, like every other write: a new match is created by
        `match_create`, a change of schedule by `match_reschedule`."""
        d = form.cleaned_data
        if change:
            services.match_reschedule(
                match=obj, kickoff=d["kickoff"], venue=d["venue"], group=d["group"]
            )
            return
        created = services.match_create(
            competition=d["competition"],
            stage=d["stage"],
            home=d["home"],
            away=d["away"],
            kickoff=d["kickoff"],
            venue=d["venue"],
            group=d["group"],
        )
        obj.pk, obj.slug = created.pk, created.slug

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Match], status: str) -> None:
        done, failed = 0, []
        for match in queryset:
            try:
                services.match_change_status(match=match, status=status)
                done += 1
            except services.MatchRuleError as exc:
                failed.append(f"{match.slug}: {exc}")
        if done:
            self.message_user(request, f"{done} match(es) moved to {status}.", messages.SUCCESS)
        for line in failed:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description="Kick off selected matches", permissions=["operate"])
    def start_matches(self, request: HttpRequest, queryset: QuerySet[Match]) -> None:
        self._bulk(request, queryset, MatchStatus.FIRST_HALF)

    @admin.action(description="End selected matches (full time)", permissions=["operate"])
    def end_matches(self, request: HttpRequest, queryset: QuerySet[Match]) -> None:
        self._bulk(request, queryset, MatchStatus.FINISHED)

    def get_urls(self) -> list[URLPattern]:
        console = path(
            "<int:match_id>/console/",
            self.admin_site.admin_view(self.console_view),
            name="matches_match_console",
        )
        return [console, *super().get_urls()]

    def console_view(self, request: HttpRequest, match_id: int) -> HttpResponse:
        if not self.has_operate_permission(request):
            raise PermissionDenied
        match = get_object_or_404(
            Match.objects.select_related("home", "away", "stage"), pk=match_id
        )
        if request.method == "POST":
            self._console_post(request, match)
            return HttpResponseRedirect(reverse("admin:matches_match_console", args=[match.pk]))
        forms_by_name = {name: cls(match=match, prefix=name) for name, cls in CONSOLE_FORMS.items()}
        context = {
            **self.admin_site.each_context(request),
            "title": f"Operator console: {match.home.name} v {match.away.name}",
            "opts": self.model._meta,
            "original": match,
            "match": match,
            "forms": forms_by_name,
            "timeline": match.events.select_related("team", "player").order_by("-seq")[:30],
        }
        return TemplateResponse(request, "admin/matches/match/console.html", context)

    def _console_post(self, request: HttpRequest, match: Match) -> None:
        name = request.POST.get("action", "")
        form_class = CONSOLE_FORMS.get(name)
        if form_class is None:
            self.message_user(request, f"Unknown console action {name!r}.", messages.ERROR)
            return
        form = form_class(request.POST, match=match, prefix=name)
        if not form.is_valid():
            errors = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in form.errors.items())
            self.message_user(request, f"Not recorded: {errors}", messages.ERROR)
            return
        try:
            recorded = form.apply(match)
        except services.MatchRuleError as exc:
            self.message_user(request, f"Not recorded: {exc}", messages.ERROR)
            return
        match.refresh_from_db()
        self.message_user(
            request,
            f"Recorded #{recorded.event.seq} {recorded.event.get_kind_display()}. "
            f"Score {match.home_score}-{match.away_score}, {match.get_status_display()}.",
            messages.SUCCESS,
        )


@admin.register(FeedEvent)
class FeedEventAdmin(admin.ModelAdmin):
    """What providers sent and what became of it (applied, duplicate, rejected and why)."""

    list_display = ["provider", "provider_event_id", "match", "provider_seq", "state", "error"]
    list_filter = ["state", "provider"]
    search_fields = ["provider_event_id", "match__slug"]
    list_select_related = ["match__home", "match__away"]
    readonly_fields = [f.name for f in FeedEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Fixture)
class FixtureAdmin(admin.ModelAdmin):
    """Knockout fixtures: sides the results decide fill in by themselves; an operator sets
    the ones the data cannot (fair play, lots, an unlisted best-thirds combination)."""

    list_display = [
        "number",
        "stage",
        "home_label",
        "home_team",
        "away_label",
        "away_team",
        "match",
    ]
    list_filter = ["competition", "stage"]
    list_select_related = ["stage", "home_team", "away_team", "match"]
    fields = ["competition", "number", "stage", "kickoff", "venue", "home_source", "home_team",
              "away_source", "away_team", "match"]  # fmt: skip

    @admin.display(description="home from")
    def home_label(self, fixture: Fixture) -> str:
        return bracket.source_label(fixture.home_source)

    @admin.display(description="away from")
    def away_label(self, fixture: Fixture) -> str:
        return bracket.source_label(fixture.away_source)

    def get_readonly_fields(self, request: HttpRequest, obj: Fixture | None = None) -> list[str]:
        fixed = ["competition", "number", "stage", "kickoff", "venue", "home_source",
                 "away_source", "match"]  # fmt: skip
        if obj is not None and obj.match_id is not None:
            return [*fixed, "home_team", "away_team"]
        return fixed

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # fixtures come from the competition's structure (the loader)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("matches.operate_match")

    def save_model(self, request: HttpRequest, obj: Fixture, form: Any, change: bool) -> None:
        """Through the bracket service, which creates the match once both teams are set."""
        stored = Fixture.objects.get(pk=obj.pk)
        try:
            bracket.fixture_set_team(
                fixture=stored,
                home=form.cleaned_data.get("home_team"),
                away=form.cleaned_data.get("away_team"),
            )
        except services.MatchRuleError as exc:
            self.message_user(request, f"Not saved: {exc}", messages.ERROR)
