"""What the gRPC-backed sinks share: `record()`, a channel, an engine, the waiting methods."""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from prometheus_client import CollectorRegistry

from extplane_client._rpc import bearer_metadata
from extplane_client.delivery.engine import DeliveryEngine, DeliveryStats
from extplane_client.delivery.grpc_transport import EventTransport, Recorded, SinkChannel
from extplane_client.delivery.options import DeliveryOptions
from extplane_client.tls import ClientTls


class SinkEvent(Protocol):
    """What `record()` reads of an event: MeteringEvent and AuditEvent both have it."""

    event_id: str

    def HasField(self, field_name: Any) -> bool: ...  # noqa: N802 - protobuf's name

    def SerializeToString(self, *, deterministic: bool = ...) -> bytes: ...  # noqa: N802


E = TypeVar("E", bound=SinkEvent)


class QueueingSink(Generic[E]):
    """A sink whose events go through a `DeliveryEngine` to a gRPC sink service.

    `event_type` is the one message type `record()` takes; `service`, `unary` and
    `batch` name the contract's service and its two RPCs.
    """

    def __init__(
        self,
        target: str | grpc.Channel,
        *,
        event_type: type[E],
        service: ServiceDescriptor,
        unary: str,
        batch: str,
        name: str,
        options: DeliveryOptions | None,
        credentials: grpc.ChannelCredentials | None,
        tls: ClientTls | None,
        token: str | None,
        metadata: Sequence[tuple[str, str]],
        channel_options: Sequence[tuple[str, Any]],
        registry: CollectorRegistry | None,
    ) -> None:
        delivery = options if options is not None else DeliveryOptions()
        channel = SinkChannel(
            target,
            delivery=delivery,
            credentials=credentials,
            tls=tls,
            metadata=(*bearer_metadata(token), *metadata),
            channel_options=channel_options,
        )
        self._event_type = event_type
        try:
            transport = EventTransport(channel, service, unary=unary, batch=batch)
            self._engine: DeliveryEngine[Recorded, bytes] = DeliveryEngine(
                transport, delivery, name=name, registry=registry
            )
        except BaseException:
            channel.close()
            raise

    def record(self, event: E) -> None:
        """Queue `event` for delivery. Never blocks, never raises.

        The sink keeps the event's encoding, so changing the event afterwards
        changes nothing sent. An empty `event_id` becomes a fresh UUIDv7, and an
        unset `timestamp` becomes the time of this call. A full queue, a closed
        sink, or something other than an event is counted (`stats()`).
        """
        if type(event) is not self._event_type:
            self._engine.refuse()
            return
        try:
            recorded = (
                event.SerializeToString(),
                not event.event_id,
                0 if event.HasField("timestamp") else time.time_ns(),
            )
        except Exception:  # never raise into the runtime: counted instead
            self._engine.refuse()
            return
        self._engine.offer(recorded)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait (at most `timeout` s) until every event recorded so far is sent.

        True when each was delivered or rejected for good. It blocks: from a
        coroutine, `await asyncio.to_thread(sink.flush, timeout)`.
        """
        return self._engine.flush(timeout)

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush within `timeout`, then stop; later `record()` calls are counted as dropped.

        True when nothing was left unsent. Blocks like `flush()`.
        """
        return self._engine.close(timeout)

    def stats(self) -> DeliveryStats:
        """The sink's counters now (an immutable snapshot)."""
        return self._engine.stats()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
