"""A sink's counters as Prometheus metrics, read from its stats at scrape time.

Nothing is incremented per event: the collector asks each sink for a snapshot
when the registry is scraped, so `record()` stays as cheap without a registry
as with one. One collector per registry serves every sink reporting to it.

    extplane_sink_events_total{sink, outcome}  outcome: delivered, rejected,
                                               oversized, denied, overflowed,
                                               dropped, abandoned
    extplane_sink_retries_total{sink}
    extplane_sink_queued{sink}                 events waiting or in flight
    extplane_sink_capacity{sink}
    extplane_sink_batch_mode{sink}             1 batch RPC, 0 unary fallback
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from extplane_client._metric_families import once_per_registry

if TYPE_CHECKING:
    from extplane_client.delivery.engine import DeliveryStats

StatsSource = Callable[[], "DeliveryStats"]

OUTCOMES = (
    "delivered",
    "rejected",
    "oversized",
    "denied",
    "overflowed",
    "dropped",
    "abandoned",
)


class _SinkCollector(Collector):
    def __init__(self) -> None:
        self._sources: dict[str, StatsSource] = {}
        self._lock = threading.Lock()

    def add(self, name: str, source: StatsSource) -> None:
        with self._lock:
            current = self._sources.get(name)
            if current is not None and not current().closed:
                raise ValueError(
                    f"name: a sink named {name!r} already reports to this registry; "
                    "give each sink its own name"
                )
            # A closed sink's figures give way to its successor of the same name.
            self._sources[name] = source

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            sources = sorted(self._sources.items())
        events = CounterMetricFamily(
            "extplane_sink_events",
            "Events offered to a runtime-side sink, by how they ended.",
            labels=["sink", "outcome"],
        )
        retries = CounterMetricFamily(
            "extplane_sink_retries", "Calls a sink made again after a failure.", labels=["sink"]
        )
        queued = GaugeMetricFamily(
            "extplane_sink_queued", "Events waiting or in flight.", labels=["sink"]
        )
        capacity = GaugeMetricFamily(
            "extplane_sink_capacity", "Events a sink holds at most.", labels=["sink"]
        )
        batch_mode = GaugeMetricFamily(
            "extplane_sink_batch_mode",
            "1 while a sink uses the batch RPC, 0 after falling back to the unary one.",
            labels=["sink"],
        )
        for name, source in sources:
            stats = source()
            for outcome in OUTCOMES:
                events.add_metric([name, outcome], getattr(stats, outcome))
            retries.add_metric([name], stats.retries)
            queued.add_metric([name], stats.queued)
            capacity.add_metric([name], stats.capacity)
            batch_mode.add_metric([name], 1 if stats.batch_mode else 0)
        yield from (events, retries, queued, capacity, batch_mode)


@once_per_registry
def _collector(registry: CollectorRegistry) -> _SinkCollector:
    collector = _SinkCollector()
    registry.register(collector)
    return collector


def report_stats(registry: CollectorRegistry, name: str, source: StatsSource) -> None:
    """Export `source()` in `registry` under `sink=name`; one live sink per name."""
    _collector(registry).add(name, source)
