"""Deadlines: a handler past its deadline is cancelled, and onward calls get what is left."""

from __future__ import annotations

import asyncio

import grpc
import grpc.aio
import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from runtime_slow_service import ONWARD_CAP_S, SERVICE_NAME, SlowCapabilities

from extplane.runtime import Metrics
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

REQUEST = capabilities_pb2.CapabilitiesRequest()
WAIT_S = 30


async def test_deadline_shorter_than_the_handler_cancels_it(
    stub: capabilities_pb2_grpc.CapabilityProviderStub,
    servicer: SlowCapabilities,
    metrics: Metrics,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await stub.Capabilities(REQUEST, metadata=[("x-delay-s", "600")], timeout=0.5)

    assert late.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.wait_for(servicer.cancelled.wait(), WAIT_S)
    assert servicer.finished == 0
    labels = {"grpc_service": SERVICE_NAME, "grpc_method": "Capabilities"}
    assert (
        metrics.registry.get_sample_value(
            "extplane_grpc_server_handled_total", {**labels, "grpc_code": "DEADLINE_EXCEEDED"}
        )
        == 1
    )


async def test_onward_timeout_is_capped_by_the_callers_deadline(
    stub: capabilities_pb2_grpc.CapabilityProviderStub,
) -> None:
    bounded = await stub.Capabilities(REQUEST, timeout=2.0)
    unbounded = await stub.Capabilities(REQUEST)

    # The deadline travels as a rounded-up `grpc-timeout`, so the server may see a
    # hair over 2 s; what matters is that the caller's deadline, not the cap, won.
    assert 0 < float(bounded.snapshot.metadata["remaining_timeout_s"]) < ONWARD_CAP_S
    assert float(unbounded.snapshot.metadata["remaining_timeout_s"]) == ONWARD_CAP_S


async def test_channel_carries_the_callers_trace_to_the_server(
    stub: capabilities_pb2_grpc.CapabilityProviderStub, servicer: SlowCapabilities
) -> None:
    caller = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with trace.use_span(NonRecordingSpan(caller)):
        await stub.Capabilities(REQUEST, timeout=WAIT_S)

    assert servicer.trace_ids == ["0af7651916cd43dd8448eb211c80319c"]
