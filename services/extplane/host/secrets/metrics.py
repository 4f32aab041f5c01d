"""Prometheus families of the secrets provider, registered once per registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from extplane.runtime import once_per_registry


@once_per_registry
def secret_reads(registry: CollectorRegistry) -> Counter:
    """`extplane_host_secret_reads_total{outcome}`: Get calls by outcome (`ok` or
    the SecretError variant). Unlabelled by install or key, so it stays bounded
    and names nothing an install stores."""
    return Counter(
        "extplane_host_secret_reads",
        "SecretsService.Get calls by outcome (ok or the SecretError variant).",
        ["outcome"],
        registry=registry,
    )
