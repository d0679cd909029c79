"""The operators' files are valid: the dashboard and the alert rules parse, every metric
they name is one the system exposes, and every alert's runbook section exists."""

import json
import re
from pathlib import Path

import pytest
import yaml

import celeryconfig

ROOT = Path(__file__).resolve().parent.parent
METRIC = re.compile(r"\b(livescore_[a-z_]+)")


def family(name: str) -> str:
    return re.sub(r"_(bucket|count|sum)$", "", name)


@pytest.fixture
def exposed(client, settings) -> str:
    settings.METRICS_TOKEN = "t"
    return client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()


def named_metrics(text: str) -> set[str]:
    return {family(m) for m in METRIC.findall(text)}


@pytest.mark.django_db
def test_dashboard_names_only_exposed_metrics(exposed):
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "livescore.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])

    names = named_metrics(exprs)

    assert names and all(f"# HELP {name}" in exposed for name in names), names


@pytest.mark.django_db
def test_alert_rules_name_exposed_metrics_and_runbooks(exposed):
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    alerts = [r for group in rules["groups"] for r in group["rules"]]
    operations = (ROOT / "docs" / "operations.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", line[4:].strip().lower()).replace(" ", "-")
        for line in operations.splitlines()
        if line.startswith("### ")
    }

    for alert in alerts:
        names = named_metrics(alert["expr"])
        assert names and all(f"# HELP {name}" in exposed for name in names), alert["alert"]
        assert alert["annotations"]["runbook"].split("#")[1] in anchors, alert["alert"]


def test_the_scrape_config_loads_the_rules():
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    assert config["scrape_configs"][0]["metrics_path"] == "/metrics"


def test_compose_runs_every_queue_and_the_topology_s_redis_roles():
    """deploy/compose.yaml: a worker for each Celery queue, every Redis role of
    core/redis.py, and the load balancer in front of the four gateways."""
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    commands = [" ".join(s.get("command") or []) for s in services.values()]
    for queue in (q.name for q in celeryconfig.task_queues):
        assert any(f"-Q {queue} " in c for c in commands), queue
    env = compose["x-app"]["environment"]
    live = env["REDIS_LIVE_URLS"].split(",")
    for url in [env["REDIS_URL"], env["CELERY_BROKER_URL"], env["REDIS_LEADERBOARD_URL"], *live]:
        assert url.split("//")[1].split(":")[0] in services, url
    assert len(live) == 3
    haproxy = services["haproxy"]["environment"]
    assert {haproxy[f"GATEWAY_{n}"].split(":")[0] for n in range(1, 5)} <= set(services)
