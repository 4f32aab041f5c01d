"""Metering from a runtime: `record()` an event and get on with the work.

    sink = GrpcMeteringSink("metering.extplane:50052")
    sink.record(MeteringEvent(namespace="team-a", task="t-1", agent="planner",
                              model="gpt-4o", tokens_in=1200, tokens_out=300))
    ...
    sink.close(timeout=5.0)   # at shutdown: delivers what is queued

`record()` never blocks and never raises; events go to the sink in batches from
a background thread, with retries, and through the unary `RecordMetering` when
the sink does not implement the batch RPC. `NoopMeteringSink` is the default for
a runtime with no metering configured. docs/adapters.md has the details.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import grpc
from prometheus_client import CollectorRegistry

from extplane_client.delivery.options import DeliveryOptions
from extplane_client.delivery.sink import QueueingSink
from extplane_client.tls import ClientTls
from extplane_protos.orloj.extensions.v1 import metering_pb2

MeteringEvent = metering_pb2.MeteringEvent


class MeteringSink(Protocol):
    """Where a runtime sends its metering events (Orloj's `MeteringSink`)."""

    def record(self, event: MeteringEvent) -> None:
        """Take `event` for delivery; never blocks, never raises."""

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until what was recorded so far is sent; True when it was."""

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush, then stop; True when nothing was left unsent."""


class NoopMeteringSink:
    """Takes every event and keeps none: the sink of a runtime with no metering set up."""

    def record(self, event: MeteringEvent) -> None:
        pass

    def flush(self, timeout: float | None = 10.0) -> bool:
        return True

    def close(self, timeout: float | None = 10.0) -> bool:
        return True


class GrpcMeteringSink(QueueingSink[MeteringEvent]):
    """A `MeteringSink` delivering to a `orloj.extensions.v1.MeteringSink` service.

    target: the sink's address ("host:port"), or a `grpc.Channel` the caller owns.
    options: queue bound, batching, timeouts and backoff (`DeliveryOptions`).
    tls: TLS for an address — the CA to trust, a client certificate for mTLS
        (`ClientTls`, as every extplane client takes it); or `credentials`
        built some other way.
    token: a bearer token sent with every call (a sink checking writers wants one
        with the `metering.writer` or `audit.writer` role).
    metadata: other metadata sent with every call (lower-case keys).
    channel_options: gRPC channel arguments for an address, over the sink's own.
    registry: export the counters there as Prometheus metrics (`sink=name`).
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
        name: str = "metering",
    ) -> None:
        super().__init__(
            target,
            event_type=MeteringEvent,
            service=metering_pb2.DESCRIPTOR.services_by_name["MeteringSink"],
            unary="RecordMetering",
            batch="RecordMeteringBatch",
            name=name,
            options=options,
            credentials=credentials,
            tls=tls,
            token=token,
            metadata=metadata,
            channel_options=channel_options,
            registry=registry,
        )
