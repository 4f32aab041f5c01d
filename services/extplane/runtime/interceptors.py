"""The server interceptor every extplane gRPC server runs."""

from __future__ import annotations

import grpc.aio
from grpc_health.v1 import health as health_names

from extplane.runtime.observing import ObservingInterceptor
from extplane.runtime.rpc_log import RpcLog
from extplane.runtime.rpc_metrics import Metrics
from extplane.runtime.server_spans import ServerSpans


def server_interceptors(metrics: Metrics) -> list[grpc.aio.ServerInterceptor]:
    """A server span per RPC continuing the caller's W3C trace context, Prometheus
    RPC metrics and the RPC log, all from one interceptor (see `observing`).

    Health checks are counted and logged but left out of traces: probes would
    flood them.
    """
    observing = ObservingInterceptor(
        [metrics, RpcLog()],
        spans=ServerSpans(),
        untraced_services=[health_names.SERVICE_NAME],
    )
    return [observing]
