"""Prometheus families of the capability service, registered once per registry.

Several services (or test cases) may share one process registry; registering a
family twice there is an error, so each registry gets its families once.
"""

from __future__ import annotations

import threading
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Counter

_counters: WeakKeyDictionary[CollectorRegistry, Counter] = WeakKeyDictionary()
_lock = threading.Lock()


def provider_queries(registry: CollectorRegistry) -> Counter:
    """`extplane_capabilities_provider_queries_total{provider, outcome}` in `registry`.

    `outcome` is OK or the degraded reason; both label sets are bounded (provider
    names come from config, reasons are status code names).
    """
    with _lock:
        counter = _counters.get(registry)
        if counter is None:
            counter = Counter(
                "extplane_capabilities_provider_queries",
                "Queries of extension capability providers, by provider and outcome.",
                ["provider", "outcome"],
                registry=registry,
            )
            _counters[registry] = counter
        return counter
