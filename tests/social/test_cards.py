"""Share cards: pages with their Open Graph and Twitter tags, images at a content address
cacheable forever, a new card (and a redirect from the old one) after a VAR correction,
and one drawing per card whatever number of processes ask for it at once."""

import io
import os
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from PIL import Image

from core.redis import client as redis_client
from matches.services import match_change_status, match_disallow_goal, match_record_goal
from predictions.models import Prediction
from social import cards
from tests.factories import make_fan, make_player

pytestmark = pytest.mark.django_db
FOREVER = "public, max-age=31536000, immutable"


@pytest.fixture(autouse=True)
def fresh_cards():
    redis = redis_client()
    for key in redis.scan_iter("card:*"):
        redis.delete(key)


@pytest.fixture
def goals(match, home, away):
    match_change_status(match=match, status="first_half")
    first = match_record_goal(match=match, team=home, minute=23, player=make_player(home, "Messi"))
    match_change_status(match=match, status="half_time")
    match_change_status(match=match, status="second_half")
    second = match_record_goal(match=match, team=away, minute=90, stoppage=2)
    return first.event, second.event


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "meta" and ("property" in found or "name" in found):
            self.meta[found.get("property") or found["name"]] = found.get("content", "")
        if tag == "a":
            self.links.append(found["href"])


def follow(http: Client, path: str):
    answer = http.get(path)
    assert answer.status_code == 302 and answer["Cache-Control"] == "public, max-age=60"
    return answer["Location"]


def test_a_goals_link_leads_to_its_card_page_with_open_graph_and_twitter_tags(match, goals):
    http = Client()
    page_path = follow(http, f"/share/{match.slug}/{goals[0].seq}/")
    card = cards.card_for(match.slug, str(goals[0].seq))
    assert page_path == f"/share/{match.slug}/{goals[0].seq}/{card.digest}/"

    page = http.get(page_path)
    assert page.status_code == 200 and page["Cache-Control"] == FOREVER
    assert not page.has_header("Set-Cookie") and "Cookie" not in page.get("Vary", "")
    assert "script-src 'sha256-" in page["Content-Security-Policy"]
    tags = Tags()
    tags.feed(page.content.decode())
    origin = "http://testserver"
    assert tags.meta["og:title"] == "GOAL ARG: Team ARG 1-0 Team FRA"
    assert tags.meta["og:description"].startswith("Messi 23'")
    assert tags.meta["og:url"] == origin + page_path
    assert tags.meta["og:image"] == f"{origin}{page_path[:-1]}.png"
    assert tags.meta["og:image:width"] == "1200" and tags.meta["og:image:height"] == "630"
    assert tags.meta["twitter:card"] == "summary_large_image"
    assert tags.meta["twitter:image"] == f"{origin}{page_path[:-1]}.webp"
    assert tags.links == [f"{origin}/m/{match.slug}#{goals[0].seq}"]  # the app, at the moment
    second = cards.card_for(match.slug, str(goals[1].seq))
    assert second.detail.startswith("FRA 90+2'") and second.score == (1, 1)


def test_card_images_are_1200x630_webp_and_png_cacheable_forever(match, goals):
    card = cards.card_for(match.slug, str(goals[0].seq))
    http = Client()
    for fmt, magic in (("webp", b"RIFF"), ("png", b"\x89PNG")):
        answer = http.get(f"/share/{match.slug}/{card.key}/{card.digest}.{fmt}")
        assert answer.status_code == 200 and answer["Cache-Control"] == FOREVER
        assert answer["Content-Type"] == f"image/{fmt}" and answer.content[:4] == magic
        assert Image.open(io.BytesIO(answer.content)).size == (1200, 630)
    assert cards.renders(card.digest) == 2  # one per format; asked again, none more
    http.get(f"/share/{match.slug}/{card.key}/{card.digest}.webp")
    assert cards.renders(card.digest) == 2


def test_a_var_correction_makes_a_new_card_and_the_old_link_redirects_to_it(match, goals):
    http = Client()
    old_page = follow(http, f"/share/{match.slug}/{goals[0].seq}/")
    old = cards.card_for(match.slug, str(goals[0].seq))

    match_disallow_goal(match=match, goal=goals[0], reason="VAR: offside")

    new = cards.card_for(match.slug, str(goals[0].seq))
    assert new.digest != old.digest and new.kind == "disallowed"
    assert new.headline == "GOAL DISALLOWED" and "offside" in new.detail and new.score == (0, 1)
    assert follow(http, old_page) == f"/share/{match.slug}/{new.key}/{new.digest}/"
    old_image = f"/share/{match.slug}/{old.key}/{old.digest}.webp"
    assert follow(http, old_image) == f"/share/{match.slug}/{new.key}/{new.digest}.webp"


def test_full_time_and_a_fans_points_have_cards_and_other_events_none(match, goals):
    http = Client()
    finished = match_change_status(match=match, status="finished").event
    full_time = cards.card_for(match.slug, str(finished.seq))
    assert full_time.headline == "FULL TIME" and full_time.score == (1, 1)
    assert full_time.scorers == (("Messi 23'",), ("FRA 90+2'",))
    assert full_time.detail == "A draw"

    fan = make_fan("ana")
    assert http.get(f"/share/{match.slug}/fan-{fan.pk}/").status_code == 404  # nothing settled
    Prediction.objects.create(user=fan, match=match, kind="score", home_goals=1, away_goals=1,
                              points=5, status="settled")  # fmt: skip
    Prediction.objects.create(user=fan, match=match, kind="winner", outcome="D", points=2,
                              status="settled")  # fmt: skip
    page = http.get(follow(http, f"/share/{match.slug}/fan-{fan.pk}/"))
    assert page.status_code == 200 and "ana: 7 POINTS" in page.content.decode()

    kickoff = 1
    missing = [f"/share/{match.slug}/{kickoff}/", f"/share/{match.slug}/999/",
               f"/share/no-such-match/{goals[0].seq}/", f"/share/{match.slug}/fan-x/"]  # fmt: skip
    for path in missing:
        answer = http.get(path)
        assert answer.status_code == 404 and answer["Cache-Control"] == "public, max-age=10"
    assert http.get(f"/share/{match.slug}/{goals[0].seq}/abc/").status_code == 404


_RENDER = """
import hashlib, os, sys, time
import django
django.setup()
from social import cards
card = cards.Card(slug="s", key="2", kind="goal", competition="Cup", home=("ARG", "Argentina"),
                  away=("FRA", "France"), score=(1, 0), pens=None, headline="GOAL ARG",
                  detail="Messi 23'")
while time.time() < float(sys.argv[1]):
    time.sleep(0.001)
print(card.digest, hashlib.sha256(cards.image(card, "webp")).hexdigest())
"""


def test_a_card_is_drawn_once_when_processes_ask_for_it_at_the_same_moment():
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "livescore.settings",
           "REDIS_URL": settings.REDIS_URL, "PYTHONPATH": str(root)}  # fmt: skip
    start = time.time() + 4  # every process imported and waiting by then
    argv = [sys.executable, "-c", _RENDER, str(start)]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL, "text": True}
    runs = [subprocess.Popen(argv, env=env, cwd=root, **pipes) for _ in range(4)]
    answers = {run.communicate(timeout=60)[0].strip() for run in runs}
    assert len(answers) == 1  # the same bytes for everyone
    digest, _ = answers.pop().split()
    assert cards.renders(digest) == 1
