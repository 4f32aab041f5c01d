"""A CapabilityProvider that takes its time, wrapped as a GrpcServiceDefinition.

Request metadata steers each call: `x-delay-s` (seconds to sleep), `x-hold`
(wait until `release` is set), `x-fail` (a status code name to abort with),
`x-crash` (raise an unexpected exception).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import grpc
import grpc.aio
from opentelemetry import trace

from extplane.runtime.channels import remaining_timeout
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

SERVICE_NAME = capabilities_pb2.DESCRIPTOR.services_by_name["CapabilityProvider"].full_name
ONWARD_CAP_S = 5.0

_logger = logging.getLogger("tests.runtime.slow")


class SlowCapabilities(capabilities_pb2_grpc.CapabilityProviderServicer):
    def __init__(self, *, on_enter: Callable[[], None] | None = None) -> None:
        self.on_enter = on_enter
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.finished = 0
        self.trace_ids: list[str] = []

    async def Capabilities(  # noqa: N802
        self, request: capabilities_pb2.CapabilitiesRequest, context: Any
    ) -> capabilities_pb2.CapabilitiesResponse:
        metadata = dict(context.invocation_metadata() or ())
        self.trace_ids.append(
            trace.format_trace_id(trace.get_current_span().get_span_context().trace_id)
        )
        _logger.info("capabilities called")
        self.entered.set()
        if self.on_enter is not None:
            self.on_enter()
        try:
            if "x-hold" in metadata:
                await self.release.wait()
            await asyncio.sleep(float(metadata.get("x-delay-s", "0")))
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        if "x-fail" in metadata:
            await context.abort(grpc.StatusCode[metadata["x-fail"]], "failing as asked")
        if "x-crash" in metadata:
            raise RuntimeError("crashing as asked")
        self.finished += 1
        return capabilities_pb2.CapabilitiesResponse(
            snapshot=capabilities_pb2.CapabilitySnapshot(
                features={"slow": True},
                metadata={"remaining_timeout_s": repr(remaining_timeout(context, ONWARD_CAP_S))},
            )
        )


class SlowDefinition:
    """The servicer as a deployable service; `start()` waits for `start_gate` if given."""

    def __init__(
        self, servicer: SlowCapabilities, *, start_gate: asyncio.Event | None = None
    ) -> None:
        self.servicer = servicer
        self.start_gate = start_gate
        self.start_entered = asyncio.Event()
        self.start_calls = 0
        self.stop_calls = 0
        self.fail_start: Exception | None = None

    @property
    def name(self) -> str:
        return "slow"

    @property
    def service_names(self) -> Sequence[str]:
        return (SERVICE_NAME,)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        capabilities_pb2_grpc.add_CapabilityProviderServicer_to_server(self.servicer, server)

    async def start(self) -> None:
        self.start_calls += 1
        self.start_entered.set()
        if self.start_gate is not None:
            await self.start_gate.wait()
        if self.fail_start is not None:
            raise self.fail_start

    async def stop(self) -> None:
        self.stop_calls += 1
