"""Prometheus families of the capability service, registered once per registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from extplane.runtime import once_per_registry


@once_per_registry
def provider_queries(registry: CollectorRegistry) -> Counter:
    """`extplane_capabilities_provider_queries_total{provider, outcome}` in `registry`.

    `outcome` is OK or the degraded reason; both label sets are bounded (provider
    names come from config, reasons are status code names).
    """
    return Counter(
        "extplane_capabilities_provider_queries",
        "Queries of extension capability providers, by provider and outcome.",
        ["provider", "outcome"],
        registry=registry,
    )
