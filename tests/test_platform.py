"""Settings, deployment checks and health probes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7#pQ2!vL9zR4@mN8&kT1^wY6*bC3(fH5)jD0-sG_eA+uI=oP" * 2,
    "ALLOWED_HOSTS": "livescore.example.com",
}


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": ""})

    assert result.returncode != 0


def test_bad_boolean_in_environment_fails_loudly():
    result = manage("check", DEBUG="maybe")

    assert result.returncode != 0 and "DEBUG" in result.stderr


def test_tests_use_real_postgresql_and_redis():
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert redis.Redis.from_url(settings.REDIS_URL).ping()


@pytest.mark.django_db
def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert {k: ready.json()[k] for k in ("database", "redis", "broker")} == {
        "database": "ok",
        "redis": "ok",
        "broker": "ok",
    }
    assert set(ready.json()["queues"]) >= {"events", "realtime", "settlement"}


@pytest.mark.django_db
def test_readiness_names_a_stuck_queue(client, broker):
    broker.rpush("events", *["x"] * 1001)
    try:
        ready = client.get("/readyz")
    finally:
        broker.delete("events")

    assert ready.status_code == 503
    assert ready.json()["broker"] == "backlog: events has 1001 waiting"


@pytest.mark.django_db
def test_metrics_need_the_bearer_token(client, settings):
    settings.METRICS_TOKEN = "s3cret-metrics"

    refused = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    scraped = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics")

    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert scraped.status_code == 200
    text = scraped.content.decode()
    names = ["livescore_feed_events_total", "livescore_goal_stage_seconds", "livescore_ws_sockets"]
    names.append("django_http_requests_total_by_view_transport_method_total")
    for name in names:
        assert name in text


@pytest.mark.django_db
def test_metrics_without_a_token_are_closed_outside_the_demo(client, settings):
    settings.METRICS_TOKEN, settings.DEBUG = "", False
    assert client.get("/metrics").status_code == 401
