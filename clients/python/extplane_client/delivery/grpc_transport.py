"""The road from a sink's worker thread to a gRPC sink: a sync channel and two calls.

The worker runs in its own thread, so it uses gRPC's synchronous API: it never
touches the runtime's event loop. Given an address, the sink opens (and closes)
its own channel; given a `grpc.Channel`, the caller keeps ownership of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from uuid_utils import uuid7

from extplane_client.delivery import wire
from extplane_client.delivery.options import DeliveryOptions
from extplane_client.tls import ClientTls, sync_channel

Metadata = tuple[tuple[str, str], ...]


def _default_channel_options(delivery: DeliveryOptions) -> dict[str, Any]:
    return {
        # A sink back from an outage should be dialled again about as soon as the
        # worker retries; gRPC's own reconnect backoff grows to two minutes.
        "grpc.initial_reconnect_backoff_ms": max(1, round(delivery.initial_backoff * 1000)),
        "grpc.max_reconnect_backoff_ms": max(1, round(delivery.max_backoff * 1000)),
        # Find a dead peer during a call without waiting on TCP; pings only while
        # calls are open, so servers with gRPC's default ping policy see none idle.
        "grpc.keepalive_time_ms": 60_000,
        "grpc.keepalive_timeout_ms": 20_000,
        "grpc.keepalive_permit_without_calls": 0,
        # The engine never sends more (it counts such events as oversized); this is
        # the same limit, enforced by gRPC, for a request built some other way.
        "grpc.max_send_message_length": delivery.max_message_bytes,
    }


def _checked_metadata(metadata: Sequence[tuple[str, str]]) -> Metadata:
    checked = tuple((str(key), str(value)) for key, value in metadata)
    for key, _ in checked:
        if not key or key != key.lower() or key.startswith("grpc-"):
            raise ValueError(
                f"metadata: keys are lower-case and not reserved (grpc-*), got {key!r}"
            )
    return checked


class SinkChannel:
    """A sync channel to a sink, with the metadata every call carries."""

    def __init__(
        self,
        target: str | grpc.Channel,
        *,
        delivery: DeliveryOptions,
        credentials: grpc.ChannelCredentials | None = None,
        tls: ClientTls | None = None,
        metadata: Sequence[tuple[str, str]] = (),
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        self.metadata = _checked_metadata(metadata)
        if credentials is not None and tls is not None:
            raise ValueError("credentials, tls: give one of them (tls builds the credentials)")
        if isinstance(target, grpc.Channel):
            if credentials is not None or tls is not None or channel_options:
                raise ValueError(
                    "credentials, tls, channel_options: only with an address; "
                    "a channel given already has its own"
                )
            self.channel = target
            self._owns_channel = False
        elif isinstance(target, str):
            if not target:
                raise ValueError("target: an address like '127.0.0.1:50051' is required")
            merged = _default_channel_options(delivery)
            merged.update(channel_options)
            options = list(merged.items())
            if credentials is None:
                self.channel = sync_channel(target, tls, options=options)
            else:
                self.channel = grpc.secure_channel(target, credentials, options=options)
            self._owns_channel = True
        else:
            raise TypeError(
                "target: an address or a grpc.Channel (the synchronous kind: the sink "
                f"calls from its own thread), got {type(target).__name__}"
            )

    def close(self) -> None:
        """Close the channel if the sink opened it; a call in flight ends CANCELLED."""
        if self._owns_channel:
            self.channel.close()


Recorded = tuple[bytes, bool, int]
"""An event as `record()` keeps it: its encoding, whether it still needs an
`event_id`, and when it was recorded (Unix ns) if it needs a `timestamp`, else 0."""


class EventTransport:
    """A `Transport` for a sink contract: a unary RPC taking `event` and a batch RPC
    taking `events`, both field 1 of their request, as MeteringSink and AuditSink do.

    The field numbers and method paths are read from the service's descriptor.
    Requests are built from the events' encodings (see `wire`), and the answers
    are not decoded: a call that returns is the acknowledgement.
    """

    def __init__(
        self, channel: SinkChannel, service: ServiceDescriptor, *, unary: str, batch: str
    ) -> None:
        unary_method = service.methods_by_name[unary]
        batch_method = service.methods_by_name[batch]
        event_field = unary_method.input_type.fields_by_name["event"]
        events_field = batch_method.input_type.fields_by_name["events"]
        event = event_field.message_type
        if event is None or events_field.message_type is not event:
            raise ValueError(f"{service.full_name}: {unary} and {batch} must carry one event type")
        self._unary_field = event_field.number
        self._batch_field = events_field.number
        # An event's share of either request: its tag, its length, itself.
        self._tag_size = max(
            len(wire.varint(number << 3)) for number in (event_field.number, events_field.number)
        )
        self._event_id_field = event.fields_by_name["event_id"].number
        self._timestamp_field = event.fields_by_name["timestamp"].number
        self._channel = channel
        # No serializers: the requests are bytes already, and the answers stay bytes.
        self._unary_rpc: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.channel.unary_unary(
            f"/{service.full_name}/{unary}"
        )
        self._batch_rpc: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.channel.unary_unary(
            f"/{service.full_name}/{batch}"
        )

    def prepare(self, recorded: Recorded) -> bytes:
        """The event's final encoding: its id and time added once, so retries resend it."""
        data, needs_id, recorded_ns = recorded
        if needs_id:
            data += wire.length_delimited(self._event_id_field, str(uuid7()).encode())
        if recorded_ns:
            data += wire.length_delimited(self._timestamp_field, wire.timestamp(recorded_ns))
        return data

    def send_batch(self, items: Sequence[bytes], timeout: float) -> None:
        request = wire.repeated(self._batch_field, items)
        self._batch_rpc(request, timeout=timeout, metadata=self._channel.metadata)

    def send_one(self, item: bytes, timeout: float) -> None:
        request = wire.length_delimited(self._unary_field, item)
        self._unary_rpc(request, timeout=timeout, metadata=self._channel.metadata)

    def start_one(self, item: bytes, timeout: float) -> grpc.Future[Any]:
        request = wire.length_delimited(self._unary_field, item)
        return self._unary_rpc.future(request, timeout=timeout, metadata=self._channel.metadata)

    def size_of(self, item: bytes) -> int:
        """What `item` adds to a request; the whole of a unary one."""
        return self._tag_size + wire.varint_size(len(item)) + len(item)

    def close(self) -> None:
        self._channel.close()
