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
    assert ready.status_code == 200 and ready.json()["redis"] is True
