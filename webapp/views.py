"""The fans' web client: one small HTML page at /, the app itself is static (webapp/static)."""

from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

# The page names its assets by content hash, so it may be cached briefly and revalidated:
# a new release reaches fans within a minute, the assets themselves are cached for a year.
HTML_CACHE = "public, max-age=60, stale-while-revalidate=300"


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
def index(request: HttpRequest) -> HttpResponse:
    response = render(request, "webapp/index.html")
    response["Cache-Control"] = HTML_CACHE
    response["Content-Security-Policy"] = content_security_policy(request.get_host())
    return response


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
