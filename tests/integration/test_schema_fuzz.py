"""schemathesis against the OpenAPI schema, as an outside client generated from it would
call the API: anonymously and with a token, no request may get a 5xx, an undocumented
status, or a body that breaks the schema."""

import subprocess

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from tests.integration.conftest import BIN, start_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


@pytest.fixture
def api_server(stack_env, tmp_path, match):
    env = {
        **stack_env,
        # Production settings: what outside clients meet (no debug pages).
        "DEBUG": "0",
        "SECRET_KEY": "schema-fuzz-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "FEED_PROVIDERS": "demo:demo-feed-secret",
        # Generated requests come fast from one address: let them reach the views.
        "THROTTLE_ANON": "1000000/min",
        "THROTTLE_USER": "1000000/min",
        "THROTTLE_WRITES": "1000000/min",
        "THROTTLE_LEAGUE_JOIN": "1000000/min",
    }
    server = start_server("uvicorn", env, tmp_path)
    yield server
    server.process.stop()


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "token"])
def test_generated_requests_get_documented_answers(api_server, signed_in, tmp_path):
    argv = [str(BIN / "st"), "run", f"{api_server.url}/api/schema/", "--checks", CHECKS]
    argv += ["--max-examples", "15", "--seed", "20261127", "--request-timeout", "30"]
    argv += ["--generation-deterministic", "--no-color"]
    if signed_in:
        user = User.objects.create_user("schema-fan")
        argv += ["--header", f"Authorization: Token {Token.objects.create(user=user).key}"]

    # cwd: schemathesis keeps a cache of its own in the working directory.
    run = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=900)

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
