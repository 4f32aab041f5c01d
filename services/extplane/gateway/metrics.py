"""Prometheus families of the gateway: requests by route, method and HTTP status, and how
streamed responses ended."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# Labels stay bounded whatever clients send: routes are templates, not paths.
UNMATCHED_ROUTE = "unmatched"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class GatewayMetrics:
    """Reports into `registry`; with none given, into a private one nobody scrapes."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else CollectorRegistry()
        self._requests = Counter(
            "extplane_gateway_requests_total",
            "HTTP requests answered through annotated routes.",
            ["route", "http_method", "http_status"],
            registry=registry,
        )
        self._duration = Histogram(
            "extplane_gateway_request_seconds",
            "Time from an HTTP request's arrival to its answer's headers, upstream call "
            "included (for a streamed answer: up to its first upstream message).",
            ["route", "http_method"],
            registry=registry,
        )
        self._streams = Counter(
            "extplane_gateway_streams_total",
            "Streamed responses by how they ended: completed, upstream_error (the transfer "
            "was cut short) or client_disconnected (the upstream call was cancelled).",
            ["route", "outcome"],
            registry=registry,
        )

    def observe(self, route: str, http_method: str, http_status: int, duration_s: float) -> None:
        method = http_method if http_method in _KNOWN_METHODS else "OTHER"
        self._requests.labels(route, method, str(http_status)).inc()
        self._duration.labels(route, method).observe(duration_s)

    def stream_ended(self, route: str, outcome: str) -> None:
        self._streams.labels(route, outcome).inc()
