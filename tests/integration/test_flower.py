"""Flower through the production launcher (scripts/flower.sh): it refuses to start without a
login anywhere but the local demo on loopback, and with one it asks for it."""

from __future__ import annotations

import base64
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from core.net import free_port
from tests.integration.conftest import ROOT, Process

LAUNCHER = str(ROOT / "scripts" / "flower.sh")


@pytest.mark.parametrize(
    "env",
    [
        {"FLOWER_ADDRESS": "0.0.0.0", "DEBUG": "1"},  # off loopback, even in the demo
        {"FLOWER_ADDRESS": "127.0.0.1", "DEBUG": "0"},  # production settings on loopback
    ],
)
def test_flower_refuses_to_start_without_a_login(stack_env, env):
    env = {**stack_env, **env, "FLOWER_PORT": str(free_port())}
    env.pop("FLOWER_BASIC_AUTH", None)

    done = subprocess.run(["bash", LAUNCHER], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 2
    assert "refusing to start without FLOWER_BASIC_AUTH" in done.stderr


def status(url: str, login: str | None = None) -> int:
    headers = (
        {"Authorization": "Basic " + base64.b64encode(login.encode()).decode()} if login else {}
    )
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as error:
        return error.code


def test_flower_with_a_login_requires_it(stack_env, tmp_path):
    port = free_port()
    env = {**stack_env, "DEBUG": "0", "SECRET_KEY": "flower-test-" + "k" * 40,
           "FLOWER_ADDRESS": "127.0.0.1", "FLOWER_PORT": str(port),
           "FLOWER_BASIC_AUTH": "ops:a-long-flower-secret"}  # fmt: skip
    flower = Process("flower", ["bash", LAUNCHER], env, tmp_path / "flower.log")
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = status(url)
                break
            except OSError:
                assert time.monotonic() < deadline and flower.handle.poll() is None, (
                    flower.log.read_text()[-2000:]
                )
                time.sleep(0.3)

        assert answer == 401
        assert status(url, "ops:wrong") == 401
        assert status(url, "ops:a-long-flower-secret") == 200
    finally:
        flower.stop()
