"""Prometheus families of the gateway: requests by route, method and HTTP status, and how
streamed responses ended."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from extplane.runtime import once_per_registry

# Labels stay bounded whatever clients send: routes are templates, not paths.
UNMATCHED_ROUTE = "unmatched"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@once_per_registry
def _families(registry: CollectorRegistry) -> tuple[Counter, Histogram, Counter]:
    """(requests, request durations, stream endings) in `registry`."""
    requests = Counter(
        "extplane_gateway_requests_total",
        "HTTP requests answered through annotated routes.",
        ["route", "http_method", "http_status"],
        registry=registry,
    )
    duration = Histogram(
        "extplane_gateway_request_seconds",
        "Time from an HTTP request's arrival to its answer's headers, upstream call "
        "included (for a streamed answer: up to its first upstream message).",
        ["route", "http_method"],
        registry=registry,
    )
    streams = Counter(
        "extplane_gateway_streams_total",
        "Streamed responses by how they ended: completed, upstream_error (the transfer "
        "was cut short) or client_disconnected (the upstream call was cancelled).",
        ["route", "outcome"],
        registry=registry,
    )
    return requests, duration, streams


class GatewayMetrics:
    """Reports into `registry`; with none given, into a private one nobody scrapes.

    Gateways sharing a registry share its families (registered once).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._requests, self._duration, self._streams = _families(
            registry if registry is not None else CollectorRegistry()
        )

    def observe(self, route: str, http_method: str, http_status: int, duration_s: float) -> None:
        method = http_method if http_method in _KNOWN_METHODS else "OTHER"
        self._requests.labels(route, method, str(http_status)).inc()
        self._duration.labels(route, method).observe(duration_s)

    def stream_ended(self, route: str, outcome: str) -> None:
        self._streams.labels(route, outcome).inc()
