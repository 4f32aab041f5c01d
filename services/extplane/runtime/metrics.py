"""Prometheus metrics: one private registry and one `/metrics` endpoint per process.

A registry of our own (not prometheus-client's global one) lets tests and several
servers live in one process without clashing; every server in the process reports
into the same `Metrics`, and services register their own families on `.registry`.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.runtime.observing import RpcCall, RpcOutcome

if TYPE_CHECKING:
    from extplane.config import MetricsSettings


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


_process_metrics: Metrics | None = None
_process_metrics_lock = threading.Lock()


def process_metrics() -> Metrics:
    """The `Metrics` shared by every server of this process, created on first use."""
    global _process_metrics
    with _process_metrics_lock:
        if _process_metrics is None:
            _process_metrics = Metrics()
        return _process_metrics


class MetricsEndpoint(AsyncLifecycle):
    """Serves `metrics.registry` over HTTP at `settings.host:settings.port`.

    Does nothing when `settings.enabled` is false (`.port` stays None). Port 0
    binds an ephemeral port, readable from `.port` once started.
    """

    def __init__(self, settings: MetricsSettings, metrics: Metrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics if metrics is not None else process_metrics()
        self._httpd: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def metrics(self) -> Metrics:
        return self._metrics

    @property
    def port(self) -> int | None:
        return self._httpd.server_port if self._httpd is not None else None

    async def start(self) -> None:
        if not self._settings.enabled or self._httpd is not None:
            return
        # prometheus-client serves from a daemon thread of its own, so a slow
        # scrape never competes with RPCs for the event loop.
        self._httpd, self._thread = start_http_server(
            self._settings.port, addr=self._settings.host, registry=self._metrics.registry
        )

    async def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is None:
            return
        await asyncio.to_thread(httpd.shutdown)
        httpd.server_close()
        if thread is not None:
            await asyncio.to_thread(thread.join)
