"""The server interceptors every extplane gRPC server runs, outermost first."""

from __future__ import annotations

from typing import cast

import grpc.aio
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from opentelemetry.instrumentation.grpc.filters import health_check, negate

from extplane.runtime.metrics import Metrics
from extplane.runtime.observing import ObservingInterceptor
from extplane.runtime.rpc_log import RpcLog


def tracing_interceptor() -> grpc.aio.ServerInterceptor:
    """A server span per RPC, continuing the caller's W3C trace context.

    Health checks are left out: probes would flood traces, and the OpenTelemetry
    interceptor iterates every response-streaming handler, which breaks the
    health service's `Watch` (a coroutine that writes to its context). Our own
    response-streaming handlers must therefore be async generators.
    """
    interceptor = aio_server_interceptor(filter_=negate(health_check()))  # type: ignore[no-untyped-call]
    return cast(grpc.aio.ServerInterceptor, interceptor)


def server_interceptors(metrics: Metrics) -> list[grpc.aio.ServerInterceptor]:
    # Tracing first, so the RPC's span is current while metrics and logs observe it.
    return [tracing_interceptor(), ObservingInterceptor([metrics, RpcLog()])]
