"""Request metrics land in the registry the suite scrapes, labelled by route template."""

from __future__ import annotations

from gateway_servers import Upstream, close_gateway, open_gateway
from prometheus_client import CollectorRegistry


def _count(registry: CollectorRegistry, route: str, method: str, status: str) -> float:
    value = registry.get_sample_value(
        "extplane_gateway_requests_total",
        {"route": route, "http_method": method, "http_status": status},
    )
    return value or 0.0


async def test_requests_are_counted_by_route_template_and_status(upstream: Upstream) -> None:
    registry = CollectorRegistry()
    gateway = await open_gateway(upstream.address, metrics_registry=registry)
    try:
        await gateway.client.get("/v1/capabilities")
        await gateway.client.get("/v1/capabilities")
        await gateway.client.get("/v1/capabilities", params={"bogus": "1"})
        await gateway.client.get("/v1/no/such/path/12345")
        await gateway.client.request("BREW", "/v1/capabilities")
    finally:
        await close_gateway(gateway)
    assert _count(registry, "/v1/capabilities", "GET", "200") == 2
    assert _count(registry, "/v1/capabilities", "GET", "400") == 1
    assert _count(registry, "unmatched", "GET", "404") == 1
    assert _count(registry, "unmatched", "OTHER", "405") == 1
    duration_count = registry.get_sample_value(
        "extplane_gateway_request_seconds_count",
        {"route": "/v1/capabilities", "http_method": "GET"},
    )
    assert duration_count == 3
