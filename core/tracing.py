"""OpenTelemetry tracing: off unless the standard OTEL_ environment variables switch it on.

`OTEL_TRACES_EXPORTER=otlp` (with `OTEL_EXPORTER_OTLP_ENDPOINT`, ...) or `console`, or an
`OTEL_EXPORTER_OTLP_ENDPOINT` alone, turns it on; `OTEL_SDK_DISABLED=true` keeps it off.
The maintained instrumentations cover Django requests, Celery tasks, Redis commands and
psycopg queries; the gateway adds its own span around a frame's fan-out (`gateway.fanout`,
no maintained instrumentation covers Channels), tagged with the frame's correlation id.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import trace

tracer = trace.get_tracer("livescore")


def enabled() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "")
    return exporter not in ("", "none") or bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def setup(service: str) -> bool:
    """Install the tracer provider and the instrumentations in this process (once per
    process: Celery calls it in each pool process, after the fork)."""
    if not enabled():
        return False
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    name = os.environ.get("OTEL_SERVICE_NAME", service)
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    exporter: Any
    if os.environ.get("OTEL_TRACES_EXPORTER") == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # endpoint, headers, ... from OTEL_EXPORTER_OTLP_*
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    for instrumentor in (DjangoInstrumentor, CeleryInstrumentor, RedisInstrumentor):
        instrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)
    return True
