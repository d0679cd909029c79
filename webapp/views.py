"""The fans' web client: one small HTML page at / (and at /m/<slug>, a match's link), the
app itself is static (webapp/static).

The page carries the data of its first screen (the live list, or the match and its live
snapshot) as the answers the app would have asked the API for, so the first paint needs
no round trip after the page and its cached assets; the app then goes on live.
"""

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    JsonResponse,
    QueryDict,
)
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from matches.selectors import live_snapshot_or_rebuild, match_list
from matches.views import MatchViewSet

# The page names its assets by content hash, so it may be cached briefly and revalidated:
# a new release reaches fans within a minute, the assets themselves are cached for a year.
HTML_CACHE = "public, max-age=60, stale-while-revalidate=300"
# A page carrying live data is revalidated on every load: a cached copy would open on an
# old score (the app marks it not current until its socket is live, but why start there).
DATA_CACHE = "no-cache"
_MATCH_LIST = MatchViewSet.as_view({"get": "list"})
_MATCH_DETAIL = MatchViewSet.as_view({"get": "retrieve"})


def content_security_policy(host: str) -> str:
    """The page's policy: scripts, styles and connections from this origin only, no inline
    script or style, no plugins, no framing. The client keeps its API token in
    localStorage, so this is what limits an injected script. (Scoped to the fans' page:
    the admin and the API docs are operators' pages with their own inline scripts.)"""
    sources = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "connect-src": f"'self' ws://{host} wss://{host}",
        "worker-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in sources.items())


@require_GET
@gzip_page
def index(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    boot = match_boot(request, slug) if slug else list_boot(request)
    if boot is None:
        raise Http404("no such match")
    response = render(
        request, "webapp/index.html", {"boot": boot, "preload": preload(request, slug)}
    )
    response["Cache-Control"] = DATA_CACHE
    patch_vary_headers(response, ["Accept-Language"])  # it names the Spanish module or not
    response["Content-Security-Policy"] = content_security_policy(request.get_host())
    return response


def preload(request: HttpRequest, slug: str | None) -> list[str]:
    """Modules the first screen will import, fetched beside app.js rather than after it: the
    match centre on a match's link, the Spanish words for a browser that asks for Spanish
    first (the app chooses its language the same way; a fan's own choice it cannot see)."""
    modules = ["webapp/centre.js"] if slug else []
    languages = request.headers.get("Accept-Language", "")
    if languages.strip().lower().startswith("es"):
        modules.append("webapp/es.js")
    return modules


def list_boot(request: HttpRequest) -> dict[str, Any]:
    """The live list's three reads, under the paths the app asks them by (its dates are
    UTC days, as here)."""
    today = timezone.now().date()
    week_ago = today - dt.timedelta(days=7)
    queries = [
        "status=live",
        f"status=scheduled&date_from={today.isoformat()}",
        f"status=finished&date_from={week_ago.isoformat()}",
    ]
    boot = {}
    for query in queries:
        answer = _api(request, _MATCH_LIST, "/api/v1/matches/", query)
        if answer is not None:
            boot[f"matches/?{query}"] = answer
    return boot


def match_boot(request: HttpRequest, slug: str) -> dict[str, Any] | None:
    """A match page's first reads: the match, and its live snapshot (what the socket's
    `sub` would send first; the app applies it and then follows the socket from its seq)."""
    if not match_list().filter(slug=slug).exists():
        return None
    boot: dict[str, Any] = {}
    detail = _api(request, _MATCH_DETAIL, f"/api/v1/matches/{slug}/", "", slug=slug)
    if detail is not None:
        boot[f"matches/{slug}/"] = detail
    stored = live_snapshot_or_rebuild(slug)  # from PostgreSQL when Redis is out
    if stored is not None:
        boot[f"matches/{slug}/live/"] = json.loads(stored.text)
    return boot


def _api(
    request: HttpRequest, view: Callable[..., Any], path: str, query: str, **kwargs: Any
) -> Any:
    """The API's own answer to a GET (same view, serializers, pagination and links), or
    None when it is not a 200 (throttled, say: the app then asks itself)."""
    inner = HttpRequest()
    inner.method = "GET"
    inner.path = inner.path_info = path
    inner.META = {**request.META, "QUERY_STRING": query, "PATH_INFO": path}
    inner.META["HTTP_ACCEPT"] = "application/json"  # the page was asked for as text/html
    inner.META.pop("HTTP_AUTHORIZATION", None)  # public reads, the same for every fan
    inner.GET = QueryDict(query)
    response = view(inner, **kwargs)
    if response.status_code != 200:
        return None
    response.render()
    return json.loads(response.content)


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker at the site's root (its scope is the path it is served from), never
    cached long: browsers check it for updates."""
    source = finders.find("webapp/sw.js")
    assert source is not None
    response = HttpResponse(Path(source).read_bytes(), content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest: installable, opening on the live list, in the app's colours."""
    icons = [
        {"src": static("webapp/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        {"src": static("webapp/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": static("webapp/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {"src": static("webapp/icon-512.png"), "sizes": "512x512", "type": "image/png",
         "purpose": "maskable"},
    ]  # fmt: skip
    response = JsonResponse({
        "name": "livescore", "short_name": "livescore", "id": "/", "start_url": "/",
        "scope": "/", "display": "standalone", "background_color": "#f4f6f5",
        "theme_color": "#0b3d2e", "description": "Live scores, predictions and chat",
        "icons": icons,
    })  # fmt: skip
    response["Content-Type"] = "application/manifest+json"
    response["Cache-Control"] = HTML_CACHE
    return response


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and crawlers ask for /favicon.ico whatever the page names: the app's icon."""
    return HttpResponsePermanentRedirect(static("webapp/icon.svg"))
