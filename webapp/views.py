"""The fans' web client: one small HTML page at /, the app itself is static (webapp/static)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

# The page names its assets by content hash, so it may be cached briefly and revalidated:
# a new release reaches fans within a minute, the assets themselves are cached for a year.
HTML_CACHE = "public, max-age=60, stale-while-revalidate=300"


@require_GET
@gzip_page
def index(request: HttpRequest) -> HttpResponse:
    response = render(request, "webapp/index.html")
    response["Cache-Control"] = HTML_CACHE
    return response
