"""A goal through the real stack (signed feed -> Celery worker -> PostgreSQL -> Redis ->
gateway -> a WebSocket client) shows on /metrics, summed over the processes."""

import asyncio

import pytest

from matches import simulator
from tests.feedclient import feed_event
from tests.integration.conftest import scrape, start_server, value, wait_until
from tests.integration.wsclient import Fan

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_goal_shows_in_every_stage_of_the_metrics(servers, match):
    server = servers["uvicorn"]
    before = scrape(server)
    channel = f"match:{match.slug}"

    async def scenario():
        fan = await Fan.connect(server.ws_url)
        await fan.send({"op": "sub", "ch": channel})
        await fan.recv()
        events = [
            feed_event(match, 1, "status", status="first_half"),
            feed_event(match, 2, "goal", team="ARG", minute=23),
        ]
        simulator.post_events(base_url=server.url, provider="demo", events=events)
        simulator.post_events(base_url=server.url, provider="demo", events=events[1:])  # again
        await fan.recv_until(lambda f: f.get("seq") == 2)
        # what the fan measured: the goal arrived 30 ms ago, the round trip is 10 ms
        await fan.send({"op": "lat", "ch": channel, "d": [[2, 30]], "rtt": 10})
        await fan.send({"op": "ping"})
        await fan.recv_until(lambda f: f.get("t") == "pong")
        await fan.close()

    asyncio.run(scenario())
    wait_until(lambda: value(scrape(server), "livescore_feed_events_total", outcome="applied")
               >= value(before, "livescore_feed_events_total", outcome="applied") + 2,
               15, "the applied events on /metrics")  # fmt: skip
    after = scrape(server)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("livescore_feed_events_total", outcome="received", reason="") == 3
    assert moved("livescore_feed_events_total", outcome="applied", reason="") == 2
    for stage in ("committed", "published", "fanout"):  # the worker's and the gateway's
        assert moved("livescore_goal_stage_seconds_count", stage=stage) == 1, stage
    assert moved("livescore_ws_frames_total", kind="match") >= 2
    assert moved("livescore_client_latency_seconds_count", kind="goal") == 1
    assert moved("livescore_client_reports_total", outcome="recorded") == 1
    assert moved("django_http_requests_total_by_view_transport_method_total") >= 2


def test_the_correlation_id_of_a_goal_is_in_the_worker_and_gateway_logs(
    servers, celery_worker, match
):
    server = servers["uvicorn"]
    channel = f"match:{match.slug}"
    kickoff = feed_event(match, 1, "status", status="first_half")
    goal = feed_event(match, 2, "goal", team="ARG", minute=9)
    cid = f"demo:{goal['id']}"

    async def scenario():
        fan = await Fan.connect(server.ws_url)
        await fan.send({"op": "sub", "ch": channel})
        await fan.recv()
        simulator.post_events(base_url=server.url, provider="demo", events=[kickoff, goal])
        await fan.recv_until(lambda f: f.get("seq") == 2)
        await fan.close()

    asyncio.run(scenario())

    wait_until(lambda: cid in server.process.log.read_text(), 10, "the gateway's log line")
    worker_lines = [line for line in celery_worker.log.read_text().splitlines() if cid in line]
    gateway_lines = [line for line in server.process.log.read_text().splitlines() if cid in line]
    assert any("feed event applied" in line for line in worker_lines), worker_lines
    assert any(f"fanout {channel} seq=2" in line for line in gateway_lines), gateway_lines


def test_tracing_switched_on_by_otel_variables(stack_env, celery_worker, match, tmp_path):
    """With OTEL_TRACES_EXPORTER=console a server exports spans: Django's request spans, the
    Redis and psycopg spans under them, and the gateway's own fan-out span."""
    env = {**stack_env, "OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "100"}
    server = start_server("uvicorn", env, tmp_path)
    channel = f"match:{match.slug}"

    async def scenario():
        fan = await Fan.connect(server.ws_url)
        await fan.send({"op": "sub", "ch": channel})
        await fan.recv()
        events = [feed_event(match, 1, "status", status="first_half")]
        simulator.post_events(base_url=server.url, provider="demo", events=events)
        await fan.recv_until(lambda f: f.get("seq") == 1)
        await fan.close()

    try:
        asyncio.run(scenario())
        server.get_json(f"/api/v1/matches/{match.slug}/")
        wait_until(lambda: '"gateway.fanout"' in server.process.log.read_text(), 15, "spans")
        wait_until(lambda: '"name": "GET"' in server.process.log.read_text(), 15, "Django spans")
    finally:
        server.process.stop()
    log = server.process.log.read_text()

    assert f'"livescore.channel": "{channel}"' in log
    assert '"db.system": "postgresql"' in log and '"db.system": "redis"' in log
    assert '"name": "apply_async/matches.tasks.feed_drain_task"' in log  # Celery, sending
