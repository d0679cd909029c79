"""The share links of moments (docs/social.md): a page with Open Graph and Twitter-card tags
that opens the app at the moment, and its image, both at a content-addressed URL.

    /share/<match>/<key>/                  the card as it stands now: a redirect
    /share/<match>/<key>/<digest>/         the page        (cached forever)
    /share/<match>/<key>/<digest>.webp     the image, WebP (cached forever)
    /share/<match>/<key>/<digest>.png      the image, PNG  (cached forever)

`key` is a moment's seq (a goal, full time) or `fan-<user id>` (a fan's points on the
match). An address whose digest is no longer the moment's (VAR changed it) redirects to the
current one, briefly cacheable; nothing under a current address ever changes.
"""

from __future__ import annotations

import base64
import hashlib

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from social import cards

# A fan who opens the link goes on to the app at the moment; link previewers read the tags
# and run no script. (Not a meta refresh: some previewers follow one and lose the tags.)
OPENER = 'location.replace(document.getElementById("open").href);'
_OPENER_HASH = base64.b64encode(hashlib.sha256(OPENER.encode()).digest()).decode()
FOREVER = "public, max-age=31536000, immutable"
BRIEFLY = "public, max-age=60"  # a redirect to the current card: it may change again
# The page's one script is OPENER, allowed by its hash; its style is its own <style>.
POLICY = (
    f"default-src 'none'; script-src 'sha256-{_OPENER_HASH}'; img-src 'self'; "
    "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def page_path(card: cards.Card) -> str:
    return f"/share/{card.slug}/{card.key}/{card.digest}/"


def image_path(card: cards.Card, fmt: cards.Format) -> str:
    return f"/share/{card.slug}/{card.key}/{card.digest}.{fmt}"


def _card(slug: str, key: str) -> cards.Card | HttpResponse:
    try:
        return cards.card_for(slug, key)
    except cards.CardError as missing:
        response = HttpResponse(f"{missing}\n", status=404, content_type="text/plain")
        response["Cache-Control"] = "public, max-age=10"  # the moment may come in a moment
        return response


def _redirect(to: str) -> HttpResponse:
    response = HttpResponseRedirect(to)
    response["Cache-Control"] = BRIEFLY
    return response


@require_GET
def share_latest(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    card = _card(slug, key)
    return card if isinstance(card, HttpResponse) else _redirect(page_path(card))


@require_GET
def share_page(request: HttpRequest, slug: str, key: str, digest: str) -> HttpResponse:
    card = _card(slug, key)
    if isinstance(card, HttpResponse):
        return card
    if digest != card.digest:
        return _redirect(page_path(card))
    context = {
        "card": card,
        "page_url": request.build_absolute_uri(page_path(card)),
        "webp_url": request.build_absolute_uri(image_path(card, "webp")),
        "png_url": request.build_absolute_uri(image_path(card, "png")),
        "app_url": request.build_absolute_uri(card.app_path),
        "width": cards.WIDTH,
        "height": cards.HEIGHT,
        "opener": OPENER,
    }
    response = render(request, "social/share.html", context)
    response["Cache-Control"] = FOREVER
    response["Content-Security-Policy"] = POLICY
    return response


@require_GET
def share_image(request: HttpRequest, slug: str, key: str, digest: str, fmt: str) -> HttpResponse:
    card = _card(slug, key)
    if isinstance(card, HttpResponse):
        return card
    wanted: cards.Format = "png" if fmt == "png" else "webp"
    if digest != card.digest:
        return _redirect(image_path(card, wanted))
    response = HttpResponse(cards.image(card, wanted), content_type=cards.CONTENT_TYPES[wanted])
    response["Cache-Control"] = FOREVER
    return response
