"""Prometheus families of the metering service, registered once per registry.

    extplane_metering_events_total{namespace, model}           events newly stored
    extplane_metering_tokens_total{namespace, model, direction} their tokens (in / out)
    extplane_metering_duplicate_events_total                   acknowledged, already stored
    extplane_metering_expired_events_total                     acknowledged, older than retention
    extplane_metering_rejected_events_total{rpc}               events of refused (invalid) calls
    extplane_metering_pruned_events_total                      deleted by retention

Label cardinality: namespace and model come from callers, so the pairs are
bounded: the first `max_series` distinct (namespace, model) pairs get their
own series, every later pair is counted under namespace="_other",
model="_other" (totals stay exact, detail is lost past the bound). The store,
not the metrics, is the place for per-tenant detail (GetUsage).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter

from extplane.metering.event_rows import MODEL, NAMESPACE, TOKENS_IN, TOKENS_OUT, EventRow
from extplane.metering.store import IngestOutcome
from extplane.runtime import once_per_registry

OTHER = "_other"


class _Families:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "extplane_metering_events",
            "Metering events newly stored, by namespace and model.",
            ["namespace", "model"],
            registry=registry,
        )
        self.tokens = Counter(
            "extplane_metering_tokens",
            "Tokens of the metering events newly stored, by namespace, model and direction.",
            ["namespace", "model", "direction"],
            registry=registry,
        )
        self.duplicates = Counter(
            "extplane_metering_duplicate_events",
            "Events acknowledged as duplicates of an event_id already stored.",
            registry=registry,
        )
        self.expired = Counter(
            "extplane_metering_expired_events",
            "Events acknowledged but not stored: older than the retention horizon.",
            registry=registry,
        )
        self.rejected = Counter(
            "extplane_metering_rejected_events",
            "Events in calls refused as invalid (a refused batch counts all its events).",
            ["rpc"],
            registry=registry,
        )
        self.pruned = Counter(
            "extplane_metering_pruned_events",
            "Events deleted by the retention task.",
            registry=registry,
        )
        self.series: set[tuple[str, str]] = set()
        self.lock = threading.Lock()


_families_of = once_per_registry(_Families)


class _Series(NamedTuple):
    events: Counter
    tokens_in: Counter
    tokens_out: Counter


class MeteringMetrics:
    def __init__(self, registry: CollectorRegistry, *, max_series: int) -> None:
        self._families = _families_of(registry)
        self._max_series = max_series
        # (namespace, model) -> its counters: `labels()` is the costly part of
        # an increment, and the same few pairs recur on every call.
        self._series: dict[tuple[str, str], _Series] = {}
        self._other: _Series | None = None

    def _series_of(self, namespace: str, model: str) -> _Series:
        pair = (namespace, model)
        found = self._series.get(pair)
        if found is not None:
            return found
        families = self._families
        with families.lock:
            admitted = pair in families.series or len(families.series) < self._max_series
            if admitted:
                families.series.add(pair)
        if not admitted:
            if self._other is None:
                self._other = self._make_series(OTHER, OTHER)
            return self._other
        # Bounded like the label pairs themselves: at most max_series entries.
        series = self._series[pair] = self._make_series(namespace, model)
        return series

    def _make_series(self, namespace: str, model: str) -> _Series:
        families = self._families
        return _Series(
            families.events.labels(namespace, model),
            families.tokens.labels(namespace, model, "in"),
            families.tokens.labels(namespace, model, "out"),
        )

    def stored(self, rows: Sequence[EventRow], outcome: IngestOutcome) -> None:
        """Count what one request stored (its rows minus the skipped positions)."""
        skipped = outcome.skipped
        if len(rows) == 1:
            if not skipped:
                self._add(
                    rows[0][NAMESPACE], rows[0][MODEL], 1, rows[0][TOKENS_IN], rows[0][TOKENS_OUT]
                )
        else:
            # One increment per (namespace, model) of the request, not per event.
            sums: dict[tuple[str, str], list[int]] = {}
            for index, row in enumerate(rows):
                if skipped and index in skipped:
                    continue
                key = (row[NAMESPACE], row[MODEL])
                found = sums.get(key)
                if found is None:
                    sums[key] = [1, row[TOKENS_IN], row[TOKENS_OUT]]
                else:
                    found[0] += 1
                    found[1] += row[TOKENS_IN]
                    found[2] += row[TOKENS_OUT]
            for (namespace, model), (events, tokens_in, tokens_out) in sums.items():
                self._add(namespace, model, events, tokens_in, tokens_out)
        families = self._families
        if outcome.duplicates:
            families.duplicates.inc(outcome.duplicates)
        if outcome.expired:
            families.expired.inc(outcome.expired)

    def _add(
        self, namespace: str, model: str, events: int, tokens_in: int, tokens_out: int
    ) -> None:
        series = self._series_of(namespace, model)
        series.events.inc(events)
        if tokens_in:
            series.tokens_in.inc(tokens_in)
        if tokens_out:
            series.tokens_out.inc(tokens_out)

    def rejected(self, rpc: str, events: int) -> None:
        self._families.rejected.labels(rpc).inc(events)

    def pruned(self, events: int) -> None:
        self._families.pruned.inc(events)
