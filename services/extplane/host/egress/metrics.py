"""Prometheus families of the `http.fetch` provider, registered once per registry.

Labelled per install (tenant, install): an operator bills and watches egress
per install, and the label set grows with installs only, never with hosts or
URLs (those stay in audit events).
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from extplane.runtime import once_per_registry

_LABELS = ("tenant", "install")


@dataclass(frozen=True)
class EgressMetrics:
    fetches: Counter
    sent: Counter
    received: Counter
    refusals: Counter

    def count(self, tenant: str, install: str, outcome: str, sent: int, received: int) -> None:
        self.fetches.labels(tenant, install, outcome).inc()
        self.sent.labels(tenant, install).inc(sent)
        self.received.labels(tenant, install).inc(received)


@once_per_registry
def egress_metrics(registry: CollectorRegistry) -> EgressMetrics:
    """`extplane_host_egress_fetches_total{tenant,install,outcome}` (ok or the
    http-error kind), `extplane_host_egress_bytes_sent_total`, `..._received_total`
    and `extplane_host_egress_refusals_total{tenant,install,kind}`."""
    return EgressMetrics(
        fetches=Counter(
            "extplane_host_egress_fetches",
            "http.fetch calls by install and outcome (ok or the http-error kind).",
            [*_LABELS, "outcome"],
            registry=registry,
        ),
        sent=Counter(
            "extplane_host_egress_bytes_sent",
            "Bytes http.fetch sent (request lines, headers, bodies, every hop).",
            list(_LABELS),
            registry=registry,
        ),
        received=Counter(
            "extplane_host_egress_bytes_received",
            "Bytes http.fetch received (status lines excluded; headers, bodies, every hop).",
            list(_LABELS),
            registry=registry,
        ),
        refusals=Counter(
            "extplane_host_egress_refusals",
            "http.fetch calls refused by the egress policy (invalid-url, not-allowed).",
            [*_LABELS, "kind"],
            registry=registry,
        ),
    )
