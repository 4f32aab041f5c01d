"""Implementations the conformance tests run the kit against: a correct in-memory
MeteringSink written against the generated stubs only (as a third party would),
broken variants of it with one fault each, and a loopback server to host them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, status_pb2
from google.rpc.error_details_pb2 import BadRequest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from extplane_protos.orloj.extensions.v1 import metering_pb2 as pb
from extplane_protos.orloj.extensions.v1 import metering_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]
COUNTERS = ("tokens_in", "tokens_out", "tool_calls", "duration_ms")


async def refuse(context: Context, violations: Sequence[tuple[str, str]]) -> NoReturn:
    bad = BadRequest(
        field_violations=[BadRequest.FieldViolation(field=f, description=d) for f, d in violations]
    )
    detail = any_pb2.Any()
    detail.Pack(bad)
    message = "; ".join(f"{f}: {d}" for f, d in violations)
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[detail])
    await context.abort_with_status(rpc_status.to_status(status))


@dataclass
class MemoryMeteringSink(metering_pb2_grpc.MeteringSinkServicer):
    """A MeteringSink that keeps the contract (docs/metering.md), in memory.

    The flags each break one clause, as the broken implementations of the tests.
    """

    accepts_negative: bool = False
    double_counts: bool = False
    batch_internal: bool = False
    hangs: bool = False
    stored: list[pb.MeteringEvent] = field(default_factory=list)
    ids: set[tuple[str, str]] = field(default_factory=set)

    async def count(self, namespace: str) -> int:
        """The counter hook an implementer hands the kit."""
        return sum(1 for event in self.stored if event.namespace == namespace)

    def violations(self, event: pb.MeteringEvent, prefix: str) -> list[tuple[str, str]]:
        found = []
        if not event.HasField("timestamp"):
            found.append((f"{prefix}.timestamp", "required"))
        if not event.namespace:
            found.append((f"{prefix}.namespace", "required"))
        if len(event.event_id) > 128:
            found.append((f"{prefix}.event_id", "at most 128 characters"))
        if not self.accepts_negative:
            found += [(f"{prefix}.{n}", "must be >= 0") for n in COUNTERS if getattr(event, n) < 0]
        return found

    def store(self, event: pb.MeteringEvent) -> bool:
        """Stores the event; True when its id was stored before."""
        key = (event.namespace, event.event_id)
        duplicate = bool(event.event_id) and key in self.ids
        if not duplicate or self.double_counts:
            self.stored.append(event)
        if event.event_id:
            self.ids.add(key)
        return duplicate

    async def RecordMetering(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.RecordMeteringRequest, context: Context
    ) -> pb.RecordMeteringResponse:
        if self.hangs:
            await asyncio.Event().wait()
        if not request.HasField("event"):
            await refuse(context, [("event", "required")])
        found = self.violations(request.event, "event")
        if found:
            await refuse(context, found)
        return pb.RecordMeteringResponse(duplicate=self.store(request.event))

    async def RecordMeteringBatch(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.RecordMeteringBatchRequest, context: Context
    ) -> pb.RecordMeteringBatchResponse:
        if self.batch_internal:
            await context.abort(grpc.StatusCode.INTERNAL, "no such method")
        if not 1 <= len(request.events) <= 1000:
            await refuse(context, [("events", "1 to 1000 events")])
        found = [
            v for i, e in enumerate(request.events) for v in self.violations(e, f"events[{i}]")
        ]
        if found:
            await refuse(context, found)
        duplicates = sum(self.store(event) for event in request.events)
        return pb.RecordMeteringBatchResponse(
            accepted=len(request.events) - duplicates, duplicates=duplicates
        )


@asynccontextmanager
async def serve(*register: Any, health_of: str = "") -> AsyncIterator[str]:
    """A bare grpc.aio server on loopback with each `register(server)` applied, and
    standard health SERVING for `health_of`; yields its address."""
    server = grpc.aio.server()
    for add in register:
        add(server)
    if health_of:
        checker = health.aio.HealthServicer()
        await checker.set(health_of, health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


@asynccontextmanager
async def serve_metering(sink: MemoryMeteringSink) -> AsyncIterator[str]:
    def add(server: grpc.aio.Server) -> None:
        metering_pb2_grpc.add_MeteringSinkServicer_to_server(sink, server)

    async with serve(add, health_of="orloj.extensions.v1.MeteringSink") as address:
        yield address
