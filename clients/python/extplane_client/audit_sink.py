"""Audit events from a runtime: `record()` and get on with the work.

    sink = GrpcAuditSink("audit.extplane:50053")
    sink.record(AuditEvent(action="tool_invoke", actor="agent/planner",
                           resource="tool/search", namespace="team-a", outcome="allowed"))
    ...
    sink.close(timeout=5.0)   # at shutdown: delivers what is queued

The same delivery as the metering sink (one engine, see docs/adapters.md): never
blocks, never raises, bounded queue, batches, retries, the unary `RecordAudit`
when the batch RPC is not implemented. Events reach the sink in the order they
were recorded (from one thread; across threads, in the order their records
interleaved). `NoopAuditSink` is the default for a runtime with no audit set up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import grpc
from prometheus_client import CollectorRegistry

from extplane_client.delivery.options import DeliveryOptions
from extplane_client.delivery.sink import QueueingSink
from extplane_client.tls import ClientTls
from extplane_protos.orloj.extensions.v1 import audit_pb2

AuditEvent = audit_pb2.AuditEvent


class AuditSink(Protocol):
    """Where a runtime sends its audit events (Orloj's `AuditSink`)."""

    def record(self, event: AuditEvent) -> None:
        """Take `event` for delivery; never blocks, never raises."""

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until what was recorded so far is sent; True when it was."""

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush, then stop; True when nothing was left unsent."""


class NoopAuditSink:
    """Takes every event and keeps none: the sink of a runtime with no audit set up."""

    def record(self, event: AuditEvent) -> None:
        pass

    def flush(self, timeout: float | None = 10.0) -> bool:
        return True

    def close(self, timeout: float | None = 10.0) -> bool:
        return True


class GrpcAuditSink(QueueingSink[AuditEvent]):
    """An `AuditSink` delivering to a `orloj.extensions.v1.AuditSink` service.

    Takes the same arguments as `GrpcMeteringSink`; `name` defaults to "audit".
    """

    def __init__(
        self,
        target: str | grpc.Channel,
        *,
        options: DeliveryOptions | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        tls: ClientTls | None = None,
        token: str | None = None,
        metadata: Sequence[tuple[str, str]] = (),
        channel_options: Sequence[tuple[str, Any]] = (),
        registry: CollectorRegistry | None = None,
        name: str = "audit",
    ) -> None:
        super().__init__(
            target,
            event_type=AuditEvent,
            service=audit_pb2.DESCRIPTOR.services_by_name["AuditSink"],
            unary="RecordAudit",
            batch="RecordAuditBatch",
            name=name,
            options=options,
            credentials=credentials,
            tls=tls,
            token=token,
            metadata=metadata,
            channel_options=channel_options,
            registry=registry,
        )
