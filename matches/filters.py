import django_filters
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError

from matches.models import LIVE_STATUSES, Match, MatchStatus

STATUS_CHOICES = [("live", "Any live status"), *MatchStatus.choices]


class MatchFilter(django_filters.FilterSet):
    date = django_filters.DateFilter(field_name="kickoff", lookup_expr="date")
    date_from = django_filters.DateFilter(field_name="kickoff", lookup_expr="date__gte")
    date_to = django_filters.DateFilter(field_name="kickoff", lookup_expr="date__lte")
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status")
    team = django_filters.CharFilter(method="filter_team", help_text="FIFA code, e.g. ARG")
    stage = django_filters.CharFilter(field_name="stage__slug", help_text="e.g. final")
    competition = django_filters.CharFilter(field_name="competition__slug")

    class Meta:
        model = Match
        fields: list[str] = []

    def filter_status(self, queryset: QuerySet[Match], name: str, value: str) -> QuerySet[Match]:
        if value == "live":
            return queryset.filter(status__in=LIVE_STATUSES)
        return queryset.filter(status=value)

    def filter_team(self, queryset: QuerySet[Match], name: str, value: str) -> QuerySet[Match]:
        code = value.strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise ValidationError({"team": "use a three-letter FIFA code such as ARG"})
        return queryset.filter(Q(home__code=code) | Q(away__code=code))
