"""Server spans: what the observing interceptor records for each RPC, over a real channel.

The interceptor is given a tracer provider of its own (an in-memory exporter)
here; servers use the process's global one, as `test_runtime_tracing` checks.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
import pytest
from google.api import httpbody_pb2
from grpc_health.v1 import health as health_names
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from runtime_slow_service import SERVICE_NAME, SlowCapabilities

from extplane.runtime import Metrics
from extplane.runtime.health import SERVING, DrainingHealth
from extplane.runtime.observing import ObservingInterceptor
from extplane.runtime.rpc_log import RpcLog
from extplane.runtime.server_spans import ServerSpans
from extplane_protos.orloj.extensions.v1 import (
    audit_query_pb2,
    audit_query_pb2_grpc,
    capabilities_pb2,
    capabilities_pb2_grpc,
)

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN_ID = "b7ad6b7169203331"
SAMPLED = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
NOT_SAMPLED = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-00"
CAPABILITIES = f"/{SERVICE_NAME}/Capabilities"
EXPORT = "/orloj.extensions.v1.AuditQueryService/ExportAuditEvents"
REQUEST = capabilities_pb2.CapabilitiesRequest()
WAIT_S = 30
FLOOD_CHUNKS = 400
FLOOD_CHUNK_BYTES = 256 * 1024


class StreamingExport(audit_query_pb2_grpc.AuditQueryServiceServicer):
    """An async-generator export, as the audit service streams it; `x-fail` aborts
    mid-way, `x-flood` sends more than a client that stops reading can take in.
    """

    def __init__(self) -> None:
        self.trace_ids: list[str] = []

    async def ExportAuditEvents(  # noqa: N802
        self, request: audit_query_pb2.ExportAuditEventsRequest, context: Any
    ) -> AsyncIterator[httpbody_pb2.HttpBody]:
        if dict(context.invocation_metadata() or ()).get("x-flood"):
            # Flow control stops it after a few MiB; the cap only bounds a mistake.
            for _ in range(FLOOD_CHUNKS):
                yield httpbody_pb2.HttpBody(data=bytes(FLOOD_CHUNK_BYTES))
            return
        for row in (b"head\r\n", b"row\r\n"):
            span_context = trace.get_current_span().get_span_context()
            self.trace_ids.append(trace.format_trace_id(span_context.trace_id))
            yield httpbody_pb2.HttpBody(content_type="text/csv", data=row)
            if dict(context.invocation_metadata() or ()).get("x-fail"):
                await context.abort(grpc.StatusCode.UNAVAILABLE, "store went away")


@dataclass
class Served:
    exporter: InMemorySpanExporter
    capabilities: SlowCapabilities
    export: StreamingExport
    metrics: Metrics
    channel: grpc.aio.Channel

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


@pytest.fixture
async def served(exporter: InMemorySpanExporter) -> AsyncIterator[Served]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    metrics = Metrics()
    interceptor = ObservingInterceptor(
        [metrics, RpcLog()],
        spans=ServerSpans(provider),
        untraced_services=[health_names.SERVICE_NAME],
    )
    server = grpc.aio.server(interceptors=[interceptor])
    capabilities, export, health = SlowCapabilities(), StreamingExport(), DrainingHealth()
    capabilities_pb2_grpc.add_CapabilityProviderServicer_to_server(capabilities, server)
    audit_query_pb2_grpc.add_AuditQueryServiceServicer_to_server(export, server)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    await health.set("", SERVING)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Served(exporter, capabilities, export, metrics, channel)
    finally:
        await server.stop(0)
        provider.shutdown()


async def call(served: Served, *metadata: tuple[str, str]) -> grpc.StatusCode:
    stub = capabilities_pb2_grpc.CapabilityProviderStub(served.channel)
    try:
        await stub.Capabilities(REQUEST, metadata=metadata, timeout=WAIT_S)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_a_sampled_callers_rpc_is_recorded_as_a_server_span_under_its_trace(
    served: Served,
) -> None:
    assert await call(served, ("traceparent", SAMPLED)) is grpc.StatusCode.OK

    [span] = served.spans()
    assert span.name == CAPABILITIES
    assert span.kind is SpanKind.SERVER
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_SPAN_ID
    assert span.parent.is_remote
    assert dict(span.attributes or {}) == {
        "rpc.system": "grpc",
        "rpc.service": SERVICE_NAME,
        "rpc.method": "Capabilities",
        "rpc.grpc.status_code": 0,
    }
    assert span.status.status_code is StatusCode.UNSET
    # The servicer ran inside the span.
    assert served.capabilities.trace_ids == [TRACE_ID]


async def test_server_failures_mark_the_span_but_the_callers_mistakes_do_not(
    served: Served,
) -> None:
    sampled = ("traceparent", SAMPLED)
    assert await call(served, sampled, ("x-fail", "NOT_FOUND")) is grpc.StatusCode.NOT_FOUND
    assert await call(served, sampled, ("x-fail", "UNAVAILABLE")) is grpc.StatusCode.UNAVAILABLE
    assert await call(served, sampled, ("x-crash", "1")) is grpc.StatusCode.INTERNAL

    not_found, unavailable, crashed = served.spans()
    assert (not_found.attributes or {})["rpc.grpc.status_code"] == 5
    assert not_found.status.status_code is StatusCode.UNSET
    assert (unavailable.attributes or {})["rpc.grpc.status_code"] == 14
    assert unavailable.status.status_code is StatusCode.ERROR
    assert unavailable.status.description == "UNAVAILABLE: failing as asked"
    assert (crashed.attributes or {})["rpc.grpc.status_code"] == 13
    assert crashed.status.status_code is StatusCode.ERROR
    [event] = crashed.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.message"] == "crashing as asked"
    # Aborts are how a handler answers; they are not exceptions of the span.
    assert not unavailable.events
    assert not not_found.events


async def test_an_unsampled_caller_keeps_its_trace_id_and_nothing_is_recorded(
    served: Served,
) -> None:
    assert await call(served, ("traceparent", NOT_SAMPLED)) is grpc.StatusCode.OK
    assert await call(served) is grpc.StatusCode.OK

    assert len(served.spans()) == 1  # only the root call: this provider samples roots
    continued, root = served.capabilities.trace_ids
    assert continued == TRACE_ID
    assert root not in (TRACE_ID, "0" * 32)
    assert format(served.spans()[0].context.trace_id, "032x") == root
    assert served.spans()[0].parent is None


async def test_a_streamed_answer_is_one_span_that_ends_with_the_stream(served: Served) -> None:
    stub = audit_query_pb2_grpc.AuditQueryServiceStub(served.channel)
    request = audit_query_pb2.ExportAuditEventsRequest()
    sampled = ("traceparent", SAMPLED)

    complete = [r.data async for r in stub.ExportAuditEvents(request, metadata=[sampled])]
    cut = stub.ExportAuditEvents(request, metadata=[sampled, ("x-fail", "1")], timeout=WAIT_S)
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        async for _ in cut:
            pass

    assert complete == [b"head\r\n", b"row\r\n"]
    assert failed.value.code() is grpc.StatusCode.UNAVAILABLE
    assert served.export.trace_ids == [TRACE_ID] * 3
    done, broken = served.spans()
    assert (done.name, broken.name) == (EXPORT, EXPORT)
    assert (done.attributes or {})["rpc.grpc.status_code"] == 0
    assert (broken.attributes or {})["rpc.grpc.status_code"] == 14
    assert broken.status.status_code is StatusCode.ERROR


async def test_a_stream_its_client_abandons_ends_its_span_without_errors(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="extplane.rpc")  # a cancellation is DEBUG
    stub = audit_query_pb2_grpc.AuditQueryServiceStub(served.channel)
    metadata = [("traceparent", SAMPLED), ("x-flood", "1")]
    call = stub.ExportAuditEvents(audit_query_pb2.ExportAuditEventsRequest(), metadata=metadata)
    await call.read()
    # The server is stuck writing: grpc.aio drops the response stream unfinished,
    # and it is closed later, from another task.
    call.cancel()
    for _ in range(WAIT_S * 100):
        if served.spans():
            break
        gc.collect()
        await asyncio.sleep(0.01)

    [span] = served.spans()
    assert span.name == EXPORT
    assert (span.attributes or {})["rpc.grpc.status_code"] == grpc.StatusCode.CANCELLED.value[0]
    # (grpc.aio may log the failed write itself; that is not ours to judge.)
    ours = [r for r in caplog.records if r.name.startswith(("opentelemetry", "extplane"))]
    assert [r.getMessage() for r in ours if r.levelno >= logging.ERROR] == []
    finished = [r for r in ours if r.name == "extplane.rpc"]
    assert [getattr(r, "grpc_code", None) for r in finished] == ["CANCELLED"]


async def test_health_checks_are_counted_but_not_traced(served: Served) -> None:
    health = health_pb2_grpc.HealthStub(served.channel)
    request = health_pb2.HealthCheckRequest(service="")
    sampled = [("traceparent", SAMPLED)]

    checked = await health.Check(request, metadata=sampled, timeout=WAIT_S)
    watch = health.Watch(request, metadata=sampled, timeout=WAIT_S)
    watched = await watch.read()
    watch.cancel()

    assert checked.status == watched.status == SERVING
    assert served.spans() == []
    [handled] = [
        sample
        for family in served.metrics.registry.collect()
        for sample in family.samples
        if sample.name == "extplane_grpc_server_handled_total"
        and sample.labels["grpc_method"] == "Check"
    ]
    assert handled.labels == {
        "grpc_service": health_names.SERVICE_NAME,
        "grpc_method": "Check",
        "grpc_code": "OK",
    }
    assert handled.value == 1
