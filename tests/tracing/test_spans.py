"""The span tree sessionkit makes with OpenTelemetry on (the SDK's in-memory exporter, aiohttp's
client instrumentation on): one INTERNAL span per operation, parent of aiohttp's HTTP spans,
attribute by attribute, for a get, a retried call, a rate-limited call, a stream and a failed call."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from contextlib import aclosing
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from sessionkit import Err, NotFoundError, Ok, RetryConfig, Timeout
from sessionkit.mix import MixCore, sessions_stream
from sessionkit.orq import OrqCore, sessions_count, sessions_get
from sessionkit.ratelimit import LocalRateLimiter
from sessionkit.testing import FakeMix, FakeOrq, Fault

KEY = "orq-trace-key"
FAST = RetryConfig(initial_wait=0.001, max_wait=0.002, jitter=False)


def tree(spans: InMemorySpanExporter) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The one operation span and its HTTP children, checked to be one tree."""
    finished = list(spans.get_finished_spans())
    [operation] = [s for s in finished if s.kind is SpanKind.INTERNAL]
    children = [s for s in finished if s.kind is SpanKind.CLIENT]
    assert len(finished) == 1 + len(children)
    for child in children:
        assert child.parent is not None
        assert child.parent.span_id == operation.context.span_id  # aiohttp's span under ours
        assert child.context.trace_id == operation.context.trace_id
    return operation, children


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def http_status(span: ReadableSpan) -> Any:
    """aiohttp's instrumentation writes the stable name only with OTEL_SEMCONV_STABILITY_OPT_IN=http."""
    found = attrs(span)
    return found.get("http.response.status_code", found.get("http.status_code"))


async def test_a_get_is_one_operation_span_over_one_http_span(spans: InMemorySpanExporter) -> None:
    async with FakeOrq(api_key=KEY) as fake:
        [thread] = fake.seed_sessions(1)
        async with OrqCore(KEY, server_url=fake.url) as core:
            result = await sessions_get(core, {"session_id": thread["_id"]})
    assert isinstance(result, Ok)
    operation, [http] = tree(spans)
    assert operation.name == "orq.sessions.get"
    assert attrs(operation) == {
        "sessionkit.service": "orq",
        "sessionkit.operation.id": "orq.sessions.get",
        "sessionkit.session.id": thread["_id"],
        "sessionkit.attempts": 1,
        "http.response.status_code": 200,
    }
    assert operation.status.status_code is StatusCode.UNSET
    assert not operation.events
    assert "http.request.resend_count" not in attrs(http)
    assert KEY not in str(attrs(http))  # aiohttp's span records no credential either


async def test_a_retried_call_has_a_retry_event_and_marks_the_resend(spans: InMemorySpanExporter) -> None:
    async with FakeOrq(api_key=KEY) as fake:
        fake.faults.push(Fault.status(503), times=1)
        async with OrqCore(KEY, server_url=fake.url, retries=FAST) as core:
            result = await sessions_count(core, {"filters": {"interval": "all"}})
    assert isinstance(result, Ok), result
    operation, https = tree(spans)
    assert operation.name == "orq.sessions.count"
    assert attrs(operation)["sessionkit.attempts"] == 2
    assert "sessionkit.session.id" not in attrs(operation)
    [retry] = operation.events
    assert retry.name == "sessionkit.retry"
    assert dict(retry.attributes or {}) == {
        "sessionkit.attempt": 1,
        "sessionkit.wait_s": 0.001,
        "sessionkit.reason": "InternalServerError",
    }
    first, second = sorted(https, key=lambda s: s.start_time or 0)
    assert "http.request.resend_count" not in attrs(first)
    assert attrs(second)["http.request.resend_count"] == 1
    assert [http_status(s) for s in (first, second)] == [503, 200]


async def test_a_rate_limited_call_reports_the_wait(spans: InMemorySpanExporter) -> None:
    limiter = LocalRateLimiter(20.0)  # one start every 50 ms: the second call waits
    async with FakeOrq(api_key=KEY) as fake, OrqCore(KEY, server_url=fake.url, rate_limiter=limiter) as core:
        await sessions_count(core, {"filters": {"interval": "all"}})
        spans.clear()
        result = await sessions_count(core, {"filters": {"interval": "all"}})
    assert isinstance(result, Ok)
    operation, [_] = tree(spans)
    [waited] = operation.events
    assert waited.name == "sessionkit.rate_limiter.wait"
    assert dict(waited.attributes or {})["sessionkit.wait_s"] > 0


async def test_a_failed_call_names_its_error(spans: InMemorySpanExporter) -> None:
    async with FakeOrq(api_key=KEY) as fake, OrqCore(KEY, server_url=fake.url) as core:
        result = await sessions_get(core, {"session_id": "missing"})
    assert isinstance(result, Err)
    assert isinstance(result.error, NotFoundError)
    operation, [http] = tree(spans)
    assert attrs(operation)["error.type"] == type(result.error).__name__  # Orq's own NotFoundError subclass
    assert attrs(operation)["http.response.status_code"] == 404
    assert attrs(operation)["sessionkit.attempts"] == 1
    assert operation.status.status_code is StatusCode.ERROR
    assert http_status(http) == 404


async def test_a_deadline_that_ends_the_call_is_an_event(spans: InMemorySpanExporter) -> None:
    async with FakeOrq(api_key=KEY) as fake:
        fake.faults.push(Fault.delay(5.0), times=None)
        async with OrqCore(KEY, server_url=fake.url, timeout=Timeout(attempt=0.05), retries=0) as core:
            result = await sessions_get(core, {"session_id": "slow"})
        fake.faults.clear()
    assert isinstance(result, Err)
    operation, _ = tree(spans)
    assert attrs(operation)["error.type"] == "RequestTimeoutError"
    [fired] = operation.events
    assert fired.name == "sessionkit.deadline"
    assert dict(fired.attributes or {}) == {"sessionkit.deadline": "attempt", "sessionkit.timeout_s": 0.05}


async def test_a_stream_is_one_span_counting_its_events(spans: InMemorySpanExporter) -> None:
    async with FakeMix() as fake, MixCore(server_url=fake.url) as core:
        [created] = fake.seed_sessions(1)
        got: list[str] = []
        async with aclosing(sessions_stream(core, {"id": created["id"]})) as events:
            async for item in events:
                assert isinstance(item, Ok)
                got.append(item.value.event)
                break  # the greeting is enough: leaving closes the stream
    operation, [http] = tree(spans)
    assert operation.name == "mix.sessions.stream"
    assert attrs(operation)["sessionkit.events"] == len(got) == 1
    assert attrs(operation)["sessionkit.session.id"] == created["id"]
    assert http.parent is not None


async def test_a_batch_makes_a_span_per_call(spans: InMemorySpanExporter) -> None:
    async with FakeOrq(api_key=KEY) as fake, OrqCore(KEY, server_url=fake.url) as core:
        results = await asyncio.gather(*(sessions_get(core, {"session_id": f"s-{i}"}) for i in range(5)))
    assert all(isinstance(r, Err) for r in results)
    operations = [s for s in spans.get_finished_spans() if s.kind is SpanKind.INTERNAL]
    assert sorted(attrs(s)["sessionkit.session.id"] for s in operations) == [f"s-{i}" for i in range(5)]
    assert len({s.context.trace_id for s in operations}) == 5  # each its own root


def test_without_a_provider_nothing_is_traced() -> None:
    # A fresh process: the API is installed, no provider set yet, then one set.
    script = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from sessionkit import _tracing
assert _tracing.TRACING
assert _tracing.tracer() is None
trace.set_tracer_provider(TracerProvider())
assert _tracing.tracer() is not None
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr


async def test_an_execution_is_one_span_over_its_handshake(spans: InMemorySpanExporter) -> None:
    from sessionkit.jupyter import JupyterCore, kernels_execute
    from sessionkit.testing import FakeJupyter

    async with FakeJupyter(token="t") as fake:
        kernel_id = fake._start_kernel("python3")  # pyright: ignore[reportPrivateUsage]
        fake.kernel_outputs("6*7", stdout="hi\n", result="42")
        async with JupyterCore(server_url=fake.url, token="t") as core:
            result = await kernels_execute(core, {"kernel_id": kernel_id, "code": "6*7"})
    assert isinstance(result, Ok), result
    finished = list(spans.get_finished_spans())
    [execution] = [s for s in finished if s.name == "jupyter.kernels.execute"]
    assert execution.kind is SpanKind.INTERNAL
    assert attrs(execution) == {
        "sessionkit.service": "jupyter",
        "sessionkit.operation.id": "jupyter.kernels.execute",
        "sessionkit.kernel.id": kernel_id,
        "sessionkit.events": 3,  # stdout, the result and the reply
        "sessionkit.execution.status": "ok",
        "sessionkit.attempts": 1,
    }
    [handshake] = [s for s in finished if s.kind is SpanKind.CLIENT]
    assert handshake.parent is not None
    assert handshake.parent.span_id == execution.context.span_id  # the WebSocket's GET under it


async def test_an_execution_that_times_out_holds_its_interrupt(spans: InMemorySpanExporter) -> None:
    from sessionkit.jupyter import JupyterCore, kernels_execute
    from sessionkit.testing import FakeJupyter

    async with FakeJupyter(token="t") as fake:
        kernel_id = fake._start_kernel("python3")  # pyright: ignore[reportPrivateUsage]
        fake.kernel_outputs("loop", hang=True)
        async with JupyterCore(server_url=fake.url, token="t") as core:
            result = await kernels_execute(core, {"kernel_id": kernel_id, "code": "loop", "timeout": 0.3})
    assert isinstance(result, Err)
    finished = list(spans.get_finished_spans())
    [execution] = [s for s in finished if s.name == "jupyter.kernels.execute"]
    [interrupt] = [s for s in finished if s.name == "jupyter.kernels.interrupt"]
    assert attrs(execution)["error.type"] == "ExecutionTimeoutError"
    assert execution.status.status_code is StatusCode.ERROR
    assert [e.name for e in execution.events] == ["sessionkit.deadline"]
    assert interrupt.parent is not None
    assert interrupt.parent.span_id == execution.context.span_id
