"""Prometheus families of the logging provider, registered once per registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from extplane.runtime import once_per_registry


@once_per_registry
def dropped_records(registry: CollectorRegistry) -> Counter:
    """`extplane_host_log_records_dropped_total{level}`: records refused by an
    install's rate limit. Unlabelled by install, so its size stays bounded."""
    return Counter(
        "extplane_host_log_records_dropped",
        "Extension log records dropped by the per-install rate limit, by level.",
        ["level"],
        registry=registry,
    )
