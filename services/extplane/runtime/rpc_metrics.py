"""The RPC metrics every gRPC server reports: started, handled (by code), latency.

`Metrics` holds a registry of our own (not prometheus-client's global one), so
tests and several servers live in one process without clashing; services
register their own families on `.registry` (through `once_per_registry`).
"""

from __future__ import annotations

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram

from extplane.runtime.observing import RpcCall, RpcOutcome


class Metrics:
    """The process's registry plus the RPC families every gRPC server reports into.

    It is an `RpcObserver`: the server's observing interceptor feeds it each call.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._started = Counter(
            "extplane_grpc_server_started_total",
            "RPCs started on the server.",
            ["grpc_service", "grpc_method"],
            registry=self.registry,
        )
        self._handled = Counter(
            "extplane_grpc_server_handled_total",
            "RPCs completed on the server, whatever their status.",
            ["grpc_service", "grpc_method", "grpc_code"],
            registry=self.registry,
        )
        self._handling = Histogram(
            "extplane_grpc_server_handling_seconds",
            "Time from the start of an RPC to its final status on the server.",
            ["grpc_service", "grpc_method"],
            registry=self.registry,
        )

        # Looking a child up by its labels costs more than updating it, so each
        # method's children are looked up once and kept.
        self._by_call: dict[RpcCall, _MethodMetrics] = {}

    def _children(self, call: RpcCall) -> _MethodMetrics:
        children = self._by_call.get(call)
        if children is None:
            children = _MethodMetrics(call, self._started, self._handled, self._handling)
            self._by_call[call] = children
        return children

    def rpc_started(self, call: RpcCall) -> None:
        self._children(call).started.inc()

    def rpc_finished(self, outcome: RpcOutcome) -> None:
        children = self._children(outcome.call)
        children.handled(outcome.code).inc()
        children.handling.observe(outcome.duration_s)


class _MethodMetrics:
    """The children of the RPC families for one method."""

    __slots__ = ("_by_code", "_call", "_handled", "handling", "started")

    def __init__(
        self, call: RpcCall, started: Counter, handled: Counter, handling: Histogram
    ) -> None:
        self._call = call
        self._handled = handled
        self.started = started.labels(call.service, call.method)
        self.handling = handling.labels(call.service, call.method)
        self._by_code: dict[grpc.StatusCode, Counter] = {}

    def handled(self, code: grpc.StatusCode) -> Counter:
        child = self._by_code.get(code)
        if child is None:
            child = self._handled.labels(self._call.service, self._call.method, code.name)
            self._by_code[code] = child
        return child
