from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

# Query parameters every list accepts besides its filters.
COMMON_PARAMS = frozenset({"page", "page_size", "format"})


class StrictFilterBackend(DjangoFilterBackend):
    """Rejects unknown query parameters with a 400: a misspelt filter silently returning
    everything is a bug that a client would otherwise never notice."""

    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        filterset_class = self.get_filterset_class(view, queryset)
        allowed = set(COMMON_PARAMS)
        if filterset_class is not None:
            allowed |= set(filterset_class.base_filters)
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise ValidationError(
                {name: f"unknown filter; allowed: {', '.join(sorted(allowed))}" for name in unknown}
            )
        return super().filter_queryset(request, queryset, view)
