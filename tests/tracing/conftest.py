"""One in-memory OpenTelemetry pipeline for the tracing tests, with aiohttp's instrumentation on.

The global tracer provider can be set once per process, so this fixture sets it, and puts the
process back as it was afterwards (the API's private globals: test-only), so that no later test
runs traced.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests._support.extras import require

require("opentelemetry.sdk", "otel")
require("opentelemetry.instrumentation.aiohttp_client", "otel")

from opentelemetry import trace  # noqa: E402
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace_module: Any = trace
    saved = trace_module._TRACER_PROVIDER, trace_module._TRACER_PROVIDER_SET_ONCE._done
    trace.set_tracer_provider(provider)
    instrumentor = AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()
        trace_module._TRACER_PROVIDER, trace_module._TRACER_PROVIDER_SET_ONCE._done = saved
        provider.shutdown()


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter
    exporter.clear()
