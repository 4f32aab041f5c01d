"""W3C trace context travels from the HTTP request to the upstream's gRPC metadata."""

from __future__ import annotations

from gateway_servers import Gateway, Upstream, close_gateway, open_gateway
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

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
