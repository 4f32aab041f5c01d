"""OpenTelemetry tracing for the process: W3C propagation always, export only when asked.

Without an OTLP endpoint, traces this process starts are not recorded (nothing
would read them, and a recorded span costs several times an unrecorded one), but
their spans still get ids, so trace ids reach the logs and travel on to the next
service. A caller's sampled trace is still recorded and its decision passed on.

The server span of each RPC is opened by `server_spans.ServerSpans`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.propagate import set_global_textmap
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from extplane.config import TracingSettings


_provider: TracerProvider | None = None
# The provider `configure_tracing` installed without an exporter: its sampler
# records a span only under a caller's sampled trace.
_ids_only_provider: TracerProvider | None = None
_lock = threading.Lock()


def configure_tracing(settings: TracingSettings, service_name: str) -> TracerProvider:
    """Install the process's tracer provider and the W3C TraceContext + Baggage
    propagator. OpenTelemetry allows one provider per process, so the first call
    wins and later calls return it. `shutdown()` on the result flushes the exporter.
    """
    global _provider, _ids_only_provider
    with _lock:
        if _provider is not None:
            return _provider
        set_global_textmap(
            CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
        )
        root_sampler: Sampler = TraceIdRatioBased(settings.sample_ratio)
        if not settings.otlp_endpoint:
            root_sampler = ALWAYS_OFF
        provider = TracerProvider(
            resource=Resource.create({SERVICE_NAME: service_name}),
            # A caller's sampling decision wins, so a trace is never half-recorded.
            sampler=ParentBased(root_sampler),
        )
        if settings.otlp_endpoint:
            provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint))
            )
        trace.set_tracer_provider(provider)
        _provider = provider
        if not settings.otlp_endpoint:
            _ids_only_provider = provider
        return provider


def is_ids_only(provider: trace.TracerProvider) -> bool:
    """True for the provider `configure_tracing` installed without an exporter."""
    return provider is _ids_only_provider
