"""Shared moments: the share card of a goal, a full time or a fan's points on a match.

A card is what its moment says now (teams, score, scorer, minute, a VAR decision), read
from PostgreSQL, and its address is a digest of exactly that (`Card.digest`): a card never
changes under its address, so the page and the image are cached forever by anyone (the
app's cache in front, a CDN), and a moment that changes (a goal disallowed, a scorer
corrected) gets a new address, its old one redirecting there (social/views.py).

The image (1200x630, the size Open Graph and Twitter cards show) is drawn here with Pillow:
flags from the project's sprite (social/cards/flags.webp, scripts/flag_sprite.py), text in
DejaVu Sans (bundled, social/cards/FONT-LICENSE). WebP for browsers and the platforms that
read it, PNG (a 256-colour palette) where a platform needs PNG. Each is drawn once
(single-flight across processes, a Redis lock) and kept in Redis; docs/social.md.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db.models import Sum
from PIL import Image, ImageDraw, ImageFont

from core.errors import DomainError
from core.metrics import CARD_RENDERS
from core.redis import client
from matches.models import Match
from matches.selectors import match_timeline_items
from predictions.models import Prediction

logger = logging.getLogger("livescore.social")

# Bump when the drawing or the page changes: every card then gets a new address (old ones
# redirect), so nothing cached under an address ever has to change.
RENDERER = "1"
WIDTH, HEIGHT = 1200, 630
CARD_TTL = 7 * 24 * 3600  # drawn images kept in Redis; drawn again after that if asked
RENDER_LOCK_SECONDS = 10
RENDER_WAIT_SECONDS = 5.0
ASSETS = Path(__file__).resolve().parent / "cards"
Format = Literal["webp", "png"]
CONTENT_TYPES: dict[str, str] = {"webp": "image/webp", "png": "image/png"}
GOAL_TYPES = frozenset({"goal", "correct"})  # a correction is the goal as it now stands
KIND_NOTE = {"pen": " (pen)", "og": " (og)"}


class CardError(DomainError):
    code = "no_card"
    status = 404


@dataclass(frozen=True)
class Card:
    """What a card shows; its digest is its address."""

    slug: str
    key: str  # "<seq>" (a goal, full time) or "fan-<user id>"
    kind: Literal["goal", "disallowed", "full_time", "points"]
    competition: str
    home: tuple[str, str]  # (code, name)
    away: tuple[str, str]
    score: tuple[int, int]
    pens: tuple[int, int] | None
    headline: str
    detail: str
    scorers: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    digest: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        said = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "digest"}
        content = json.dumps({**said, "r": RENDERER}, sort_keys=True)
        object.__setattr__(self, "digest", hashlib.sha256(content.encode()).hexdigest()[:16])

    @property
    def title(self) -> str:
        pens = f" ({self.pens[0]}-{self.pens[1]} pens)" if self.pens else ""
        result = f"{self.home[1]} {self.score[0]}-{self.score[1]} {self.away[1]}{pens}"
        return f"{self.headline}: {result}"

    @property
    def description(self) -> str:
        return " · ".join(x for x in (self.detail, self.competition) if x)

    @property
    def app_path(self) -> str:
        """Where the card opens the app: the match, at the moment (the web client scrolls
        to the event of that seq)."""
        return f"/m/{self.slug}" + (f"#{self.key}" if self.key.isdigit() else "")


# ---- what a card says ------------------------------------------------------------------------


def card_for(slug: str, key: str) -> Card:
    """The card of moment `key` of the match `slug` as it stands; CardError (404) when the
    moment has none: not a goal or full time, or a fan with no settled points on it."""
    match = Match.objects.select_related("home", "away", "competition").filter(slug=slug).first()
    if match is None:
        raise CardError("no such match")
    if key.startswith("fan-") and key[4:].isdigit():
        return _points_card(match, int(key[4:]))
    if not key.isdigit():
        raise CardError("no such moment")
    found = match_timeline_items(slug)
    items = found[1] if found else []
    return _moment_card(match, int(key), items)


def _base(match: Match) -> dict[str, Any]:
    return {
        "slug": match.slug,
        "competition": match.competition.name if match.competition else "",
        "home": (match.home.code, match.home.name),
        "away": (match.away.code, match.away.name),
    }


def _moment_card(match: Match, seq: int, items: list[dict[str, Any]]) -> Card:
    item = next((i for i in items if i.get("seq") == seq), None)
    if item is None:
        raise CardError(f"no event #{seq} in this match")
    if item["t"] in GOAL_TYPES:
        return _goal_card(match, item, items)
    if item["t"] == "status" and item.get("st") == "finished":
        return _full_time_card(match, item, items)
    raise CardError("cards are made of goals and full time")


def _goal_card(match: Match, goal: dict[str, Any], items: list[dict[str, Any]]) -> Card:
    # The goal as it stands after VAR: disallowed, or given to another player.
    later = [i for i in items if i.get("ref") == goal["seq"]]
    disallowed = any(i["t"] == "disallow" for i in later)
    corrected = next((i for i in reversed(later) if i["t"] == "correct"), None)
    shown = corrected or goal
    note = KIND_NOTE.get(shown.get("k", ""), "")
    scorer = f"{shown.get('p') or shown.get('tm')} {_minute(shown)}{note}"
    score = tuple(goal.get("s") or (0, 0))
    if disallowed:
        reason = next((i.get("r") for i in later if i["t"] == "disallow"), "") or "VAR"
        headline, detail = "GOAL DISALLOWED", f"{scorer} · {reason}"
        score = tuple(next(i["s"] for i in later if i["t"] == "disallow"))
    else:
        headline, detail = f"GOAL {shown.get('tm', '')}".strip(), scorer
    return Card(key=str(goal["seq"]), kind="disallowed" if disallowed else "goal",
                score=(int(score[0]), int(score[1])), pens=None, headline=headline,
                detail=detail, **_base(match))  # fmt: skip


def _full_time_card(match: Match, end: dict[str, Any], items: list[dict[str, Any]]) -> Card:
    cancelled = {i["ref"] for i in items if i["t"] in ("disallow", "correct") and "ref" in i}
    goals = [i for i in items if (i["t"] == "goal" and i["seq"] not in cancelled)]
    goals += [i for i in items if i["t"] == "correct"]
    goals.sort(key=lambda i: (i.get("m") or 0, i.get("x") or 0, i["seq"]))
    sides: tuple[list[str], list[str]] = ([], [])
    for goal in goals:
        side = 0 if goal.get("tm") == match.home.code else 1
        note = KIND_NOTE.get(goal.get("k", ""), "")
        sides[side].append(f"{goal.get('p') or goal.get('tm')} {_minute(goal)}{note}")
    score: Any = end.get("s") or (match.home_score, match.away_score)
    pens: Any = end.get("ps") or (
        (match.home_pens, match.away_pens) if match.home_pens is not None else None
    )
    return Card(key=str(end["seq"]), kind="full_time", score=(int(score[0]), int(score[1])),
                pens=(int(pens[0]), int(pens[1])) if pens else None, headline="FULL TIME",
                detail=_winner(match, score, pens), scorers=(tuple(sides[0]), tuple(sides[1])),
                **_base(match))  # fmt: skip


def _points_card(match: Match, user_id: int) -> Card:
    settled = Prediction.objects.filter(
        match=match, user_id=user_id, status=Prediction.Status.SETTLED
    )
    total = settled.aggregate(points=Sum("points"))["points"]
    user = get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()
    if total is None or user is None:
        raise CardError("no settled points of this fan on this match")
    pens = None
    if match.home_pens is not None and match.away_pens is not None:
        pens = (match.home_pens, match.away_pens)
    return Card(key=f"fan-{user_id}", kind="points", score=(match.home_score, match.away_score),
                pens=pens, headline=f"{user}: {total} POINTS",
                detail=f"{user} scored {total} points predicting this match",
                **_base(match))  # fmt: skip


def _minute(item: dict[str, Any]) -> str:
    if item.get("m") is None:
        return ""
    return f"{item['m']}+{item['x']}'" if item.get("x") else f"{item['m']}'"


def _winner(match: Match, score: Any, pens: Any) -> str:
    h, a = int(score[0]), int(score[1])
    if pens and h == a:
        h, a = int(pens[0]), int(pens[1])
    if h == a:
        return "A draw"
    return f"{(match.home if h > a else match.away).name} win"


# ---- the image ---------------------------------------------------------------------------------


def image(card: Card, fmt: Format) -> bytes:
    """The card's image, drawn at most once across every process while it stays in Redis:
    the first asker draws it under a lock; the others wait for it (up to
    RENDER_WAIT_SECONDS, then draw it themselves rather than fail)."""
    redis = client()
    key = f"card:{card.digest}:{fmt}"
    found = redis.get(key)
    if found is not None:
        return bytes(found)  # type: ignore[arg-type]
    if not redis.set(f"{key}:lock", 1, nx=True, ex=RENDER_LOCK_SECONDS):
        deadline = time.monotonic() + RENDER_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.02)
            found = redis.get(key)
            if found is not None:
                return bytes(found)  # type: ignore[arg-type]
    try:
        data = encode(draw(card), fmt)
        pipe = redis.pipeline(transaction=False)
        pipe.set(key, data, ex=CARD_TTL)
        pipe.incr(f"card:{card.digest}:renders")
        pipe.expire(f"card:{card.digest}:renders", CARD_TTL)
        pipe.execute()
    finally:
        redis.delete(f"{key}:lock")
    CARD_RENDERS.labels(fmt).inc()
    logger.info("card drawn %s/%s %s %s bytes", card.slug, card.key, fmt, len(data))
    return data


def renders(digest: str) -> int:
    """How many times this card's images were drawn (the benchmarks and tests read it)."""
    return int(client().get(f"card:{digest}:renders") or 0)


def encode(picture: Image.Image, fmt: Format) -> bytes:
    # A 256-colour palette first: flat colours and anti-aliased text lose nothing visible,
    # and both encoders then spend far fewer bytes (docs/benchmarks.md). WebP lossless: on
    # flat colour and text it is smaller than lossy (no ringing around letters) and exact.
    palette = picture.quantize(256, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    if fmt == "webp":
        palette.save(out, "WEBP", lossless=True, quality=80, method=4)
    else:
        palette.save(out, "PNG", optimize=True)
    return out.getvalue()


GREEN, DARK, LIGHT, GOLD, GREY = "#0b3d2e", "#072a20", "#ffffff", "#ffd34d", "#b9d3c8"


def draw(card: Card) -> Image.Image:
    picture = Image.new("RGB", (WIDTH, HEIGHT), GREEN)
    pen = ImageDraw.Draw(picture)
    pen.rectangle((0, HEIGHT - 70, WIDTH, HEIGHT), fill=DARK)
    pen.text((48, 36), "livescore", font=_font(40, bold=True), fill=LIGHT)
    if card.competition:
        pen.text((WIDTH - 48, 44), card.competition, font=_font(30), fill=GREY, anchor="ra")
    headline = _fit(pen, card.headline, 52, WIDTH - 120)
    pen.text((WIDTH // 2, 130), card.headline, font=headline, fill=GOLD, anchor="mm")
    for (code, _), x in ((card.home, 80), (card.away, WIDTH - 80 - 160)):
        flag = _flag(code)
        if flag is not None:
            picture.paste(flag, (x, 200))
        pen.text((x + 80, 350), code, font=_font(46, bold=True), fill=LIGHT, anchor="ma")
    score = f"{card.score[0]} \u2013 {card.score[1]}"  # an en dash
    pen.text((WIDTH // 2, 270), score, font=_font(150, bold=True), fill=LIGHT, anchor="mm")
    if card.pens:
        pens = f"{card.pens[0]}-{card.pens[1]} on penalties"
        pen.text((WIDTH // 2, 370), pens, font=_font(32), fill=GREY, anchor="mm")
    if card.kind == "full_time":
        _scorers(pen, card)
        pen.text((WIDTH // 2, 425), card.detail, font=_font(40, bold=True), fill=LIGHT,
                 anchor="mm")  # fmt: skip
    else:
        detail = _fit(pen, card.detail, 44, WIDTH - 120)
        pen.text((WIDTH // 2, 470), card.detail, font=detail, fill=LIGHT, anchor="mm")
    bottom = f"{card.home[1]} v {card.away[1]}"
    pen.text((48, HEIGHT - 35), bottom, font=_font(28), fill=GREY, anchor="lm")
    pen.text((WIDTH - 48, HEIGHT - 35), "Open in livescore", font=_font(28, bold=True),
             fill=GOLD, anchor="rm")  # fmt: skip
    return picture


def _scorers(pen: ImageDraw.ImageDraw, card: Card) -> None:
    small = _font(24)
    for side, x, anchor in ((0, 80, "la"), (1, WIDTH - 80, "ra")):
        lines = list(card.scorers[side])
        if len(lines) > 4:
            lines = [*lines[:3], f"+{len(lines) - 3} more"]
        for row, line in enumerate(lines):
            pen.text((x, 410 + row * 32), line, font=small, fill=GREY, anchor=anchor)


def _fit(pen: ImageDraw.ImageDraw, text: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    """The largest font up to `size` in which `text` fits `width` (long names)."""
    while size > 20:
        font = _font(size, bold=True)
        if pen.textlength(text, font=font) <= width:
            return font
        size -= 4
    return _font(20, bold=True)


@functools.cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(ASSETS / name), size)


@functools.cache
def _flags() -> tuple[Image.Image, dict[str, list[int]], tuple[int, int]]:
    index = json.loads((ASSETS / "flags.json").read_text())
    sprite = Image.open(ASSETS / "flags.webp").convert("RGB")
    return sprite, index["at"], (index["size"][0], index["size"][1])


def _flag(code: str) -> Image.Image | None:
    sprite, at, (w, h) = _flags()
    if code not in at:
        return None
    x, y = at[code]
    return sprite.crop((x, y, x + w, y + h))
