"""Delivery latency as clients measured it (`lat`, docs/protocol.md).

The hub notes when it wrote each of a match channel's last limits.ARRIVALS_KEPT frames; a
client's report `[seq, age]` says the frame of `seq` reached it `age` ms before the report
left. Half the client's round-trip time stands for the report's own way here, so no clock
is compared across machines.
"""

from __future__ import annotations

import time

from core import metrics
from gateway import limits
from gateway.connection import Connection
from gateway.feed import Feed


def arrived(feed: Feed, seq: int, at: float, goal: bool) -> None:
    """Note that the hub wrote frame `seq` to the channel's sockets at `at` (monotonic)."""
    kept = feed.arrived
    if kept is None:
        return
    kept[seq] = (at, goal)
    if len(kept) > limits.ARRIVALS_KEPT:
        del kept[min(kept)]


def client_latency(feed: Feed, conn: Connection, reports: list[list[int]], rtt_ms: int) -> None:
    """Record a client's report. Each frame counts once per socket, and only frames this
    process wrote."""
    if feed.arrived is None or conn not in feed.sockets:
        return
    name = feed.channel.name
    now = time.monotonic() - rtt_ms / 2000
    reported = conn.reported if conn.reported is not None else {}
    conn.reported = reported
    for seq, age in reports:
        sent = feed.arrived.get(seq)
        if sent is None or seq <= reported.get(name, 0):
            metrics.CLIENT_REPORTS.labels("unknown").inc()
            continue
        reported[name] = seq
        latency = now - age / 1000 - sent[0]
        if not -0.5 <= latency <= limits.CLIENT_LATENCY_MAX:  # clock jumps, naps
            metrics.CLIENT_REPORTS.labels("implausible").inc()
            continue
        metrics.CLIENT_REPORTS.labels("recorded").inc()
        metrics.CLIENT_LATENCY.labels("goal" if sent[1] else "event").observe(max(latency, 0))
