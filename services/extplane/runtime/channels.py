"""Outbound gRPC: channels that carry the trace along, and deadlines that shrink as they go."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import grpc.aio
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from extplane_client.tls import ClientTls, aio_channel

CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    # Find a dead peer (a killed pod, a dropped mesh connection) during a call
    # within ~80 s instead of waiting on TCP. Pings only while calls are open,
    # so servers with gRPC's default ping policy never see an idle ping.
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 0),
    # A restarted provider is usually back within seconds; gRPC's default
    # reconnect backoff grows to two minutes.
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 10_000),
)


def create_channel(
    address: str, *, options: Sequence[tuple[str, Any]] = (), tls: ClientTls | None = None
) -> grpc.aio.Channel:
    """A channel to `address` ("host:port") whose calls continue the current trace
    (W3C traceparent in the metadata). `options` add to or override the defaults.

    TLS (mTLS with a client certificate) per `tls`; None is plaintext, for
    loopback or a mesh whose sidecars do mTLS.
    """
    interceptors = cast(
        "list[grpc.aio.ClientInterceptor]",
        aio_client_interceptors(),  # type: ignore[no-untyped-call]
    )
    merged = dict(CHANNEL_OPTIONS)
    merged.update(options)
    return aio_channel(address, tls, options=list(merged.items()), interceptors=interceptors)


def remaining_timeout(context: grpc.aio.ServicerContext[Any, Any], cap: float) -> float:
    """The timeout for an onward call made while serving `context`: at most `cap`
    seconds, and never more than the caller has left (0 when it has run out).
    """
    remaining = context.time_remaining()
    if remaining is None:
        return cap
    return max(0.0, min(cap, remaining))
