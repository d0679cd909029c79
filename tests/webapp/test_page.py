"""The fans' page: the data of its first screen carried as the API's own answers, the
modules it will import named for preloading, and its caching."""

import json
import re

import pytest

from matches.services import match_change_status, match_record_goal

pytestmark = pytest.mark.django_db


def boot_of(response) -> dict:
    found = re.search(
        rb'<script id="boot" type="application/json">(.*?)</script>', response.content
    )
    assert found is not None
    return json.loads(found[1])


def test_a_match_link_carries_the_match_and_its_live_snapshot(client, match, home):
    match_change_status(match=match, status="first_half")
    match_record_goal(match=match, team=home, minute=9)
    page = client.get(f"/m/{match.slug}", HTTP_ACCEPT="text/html")  # as a browser asks

    boot = boot_of(page)
    assert boot[f"matches/{match.slug}/"] == client.get(f"/api/v1/matches/{match.slug}/").json()
    assert boot[f"matches/{match.slug}/live/"]["d"]["s"] == [1, 0]
    assert page["Cache-Control"] == "no-cache" and "Accept-Language" in page["Vary"]
    assert b'rel="modulepreload"' in page.content and b"centre" in page.content
    assert "script-src 'self'" in page["Content-Security-Policy"]  # data, not script


def test_the_live_list_page_carries_its_three_reads_and_spanish_is_preloaded_for_spanish(
    client, match
):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9,en;q=0.5")
    boot = boot_of(page)
    assert set(boot) == {k for k in boot if k.startswith("matches/?status=")} and len(boot) == 3
    scheduled = next(v for k, v in boot.items() if "scheduled" in k)
    assert [m["slug"] for m in scheduled["results"]] == [match.slug]
    assert b"es." in page.content and b"centre" not in page.content
    assert b"es." not in client.get("/", HTTP_ACCEPT_LANGUAGE="en-GB").content


def test_an_unknown_match_link_is_a_404(client):
    assert client.get("/m/nope-vs-nope-2020-01-01").status_code == 404
