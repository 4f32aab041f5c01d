"""W3C trace context travels from the HTTP request to the upstream's gRPC metadata."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from gateway_servers import Gateway, Upstream, close_gateway, open_gateway
from google.api import httpbody_pb2
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from query_fakes import AUDIT_TOKEN, Context, bearer

from extplane_protos.orloj.extensions.v1 import audit_query_pb2

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"


def _trace_id_of(traceparent: str | bytes) -> str:
    assert isinstance(traceparent, str)
    return traceparent.split("-")[1]


async def test_trace_id_reaches_the_upstream_without_an_sdk(
    gateway: Gateway, upstream: Upstream
) -> None:
    await gateway.client.get(
        "/v1/capabilities", headers={"traceparent": TRACEPARENT, "tracestate": "acme=1"}
    )
    received = upstream.provider.received[-1]
    assert _trace_id_of(received["traceparent"]) == TRACE_ID
    assert received["tracestate"] == "acme=1"


async def test_the_gateway_records_a_server_span_under_the_callers_trace(
    upstream: Upstream,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    gateway = await open_gateway(upstream.address, tracer_provider=provider)
    try:
        response = await gateway.client.get(
            "/v1/capabilities", headers={"traceparent": TRACEPARENT, "X-Request-Id": "r-1"}
        )
    finally:
        await close_gateway(gateway)
    assert response.status_code == 200

    spans = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert len(spans) == 1
    span = spans[0]
    assert span.name == "GET /v1/capabilities"
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_SPAN_ID
    assert span.attributes is not None
    assert span.attributes["rpc.service"] == "orloj.extensions.v1.CapabilityProvider"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["extplane.request_id"] == "r-1"

    received = upstream.provider.received[-1]
    assert _trace_id_of(received["traceparent"]) == TRACE_ID
    # The upstream's parent is a span of this gateway, not the HTTP caller's span.
    assert str(received["traceparent"]).split("-")[2] != PARENT_SPAN_ID


async def test_without_traceparent_a_trace_still_starts(upstream: Upstream) -> None:
    provider = TracerProvider()
    gateway = await open_gateway(upstream.address, tracer_provider=provider)
    try:
        await gateway.client.get("/v1/capabilities")
    finally:
        await close_gateway(gateway)
    received = upstream.provider.received[-1]
    assert _trace_id_of(received["traceparent"]) != "0" * 32


async def test_a_streamed_answer_is_one_span_that_ends_with_the_stream(
    upstream: Upstream,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def failing(
        request: audit_query_pb2.ExportAuditEventsRequest, context: Context
    ) -> AsyncIterator[httpbody_pb2.HttpBody]:
        yield httpbody_pb2.HttpBody(content_type="text/csv", data=b"head\r\n")
        await context.abort(grpc.StatusCode.UNAVAILABLE, "store went away")

    gateway = await open_gateway(upstream.address, tracer_provider=provider)
    try:
        complete = await gateway.client.get(
            "/v1/audit/export",
            headers={**bearer(AUDIT_TOKEN), "traceparent": TRACEPARENT},
        )
        upstream.audit.export = failing
        async with gateway.client.stream(
            "GET", "/v1/audit/export", headers=bearer(AUDIT_TOKEN)
        ) as cut:
            with pytest.raises(httpx.RemoteProtocolError):
                await cut.aread()
    finally:
        await close_gateway(gateway)
    assert complete.status_code == 200
    assert _trace_id_of(upstream.audit.metadata[0]["traceparent"]) == TRACE_ID

    spans = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [s.name for s in spans] == ["GET /v1/audit/export"] * 2
    done, broken = (s.attributes or {} for s in spans)
    assert done["extplane.stream.outcome"] == "completed"
    assert done["rpc.grpc.status_code"] == 0
    assert done["http.response.status_code"] == 200
    assert broken["extplane.stream.outcome"] == "upstream_error"
    assert broken["rpc.grpc.status_code"] == 14
    assert spans[1].status.status_code is StatusCode.ERROR
