"""Tracing: W3C propagation in every process, OTLP export only when an endpoint is set."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc.aio
import pytest
from opentelemetry import propagate
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1 import trace_pb2

from extplane.config import TracingSettings
from extplane.runtime.tracing import configure_tracing
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

SCRIPT = Path(__file__).with_name("runtime_serve_slow.py")
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN_ID = "b7ad6b7169203331"
WAIT_S = 60


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP trace receiver that keeps what it is sent."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []

    async def Export(  # noqa: N802
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.requests.append(request)
        return trace_service_pb2.ExportTraceServiceResponse()

    def spans(self) -> list[tuple[dict[str, str], trace_pb2.Span]]:
        found = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    found.extend((resource, span) for span in scope_spans.spans)
        return found


@pytest.fixture
async def collector() -> AsyncIterator[tuple[Collector, int]]:
    receiver = Collector()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(receiver, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield receiver, port
    await server.stop(0)


async def test_server_spans_continue_the_callers_trace_and_reach_the_otlp_endpoint(
    collector: tuple[Collector, int], tmp_path: Path
) -> None:
    receiver, collector_port = collector
    env = {
        **os.environ,
        "EXTPLANE_TRACING__OTLP_ENDPOINT": f"http://127.0.0.1:{collector_port}",
        "EXTPLANE_METRICS__ENABLED": "false",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SCRIPT),
        stdout=asyncio.subprocess.PIPE,
        stderr=(tmp_path / "stderr.log").open("wb"),
        env=env,
    )
    try:
        assert process.stdout is not None
        first = (await asyncio.wait_for(process.stdout.readline(), WAIT_S)).decode()
        port = int(first.split()[1])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await capabilities_pb2_grpc.CapabilityProviderStub(channel).Capabilities(
                capabilities_pb2.CapabilitiesRequest(),
                metadata=[("traceparent", f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01")],
                timeout=WAIT_S,
            )
        process.send_signal(signal.SIGTERM)
        # Exporting is batched; stopping the server flushes it.
        assert await asyncio.wait_for(process.wait(), WAIT_S) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    [(resource, span)] = [
        (resource, span) for resource, span in receiver.spans() if span.trace_id.hex() == TRACE_ID
    ]
    assert resource["service.name"] == "slow"
    assert span.name == "/orloj.extensions.v1.CapabilityProvider/Capabilities"
    assert span.kind == trace_pb2.Span.SPAN_KIND_SERVER
    assert span.parent_span_id.hex() == PARENT_SPAN_ID


def test_configuring_twice_keeps_the_first_provider_and_w3c_propagation() -> None:
    first = configure_tracing(TracingSettings(), "one")
    second = configure_tracing(TracingSettings(sample_ratio=0.5), "two")

    assert second is first
    assert {"traceparent", "tracestate", "baggage"} <= propagate.get_global_textmap().fields
