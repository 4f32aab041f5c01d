"""Metering counters on the Prometheus registry: events and tokens by namespace
and model, duplicates, and the bound on label pairs."""

from __future__ import annotations

from pathlib import Path

from metering_support import StartMetering, event
from prometheus_client import CollectorRegistry, generate_latest

from extplane.metering.config import MeteringSettings
from extplane.metering.metrics import MeteringMetrics
from extplane.metering.service import MeteringService
from extplane.runtime import process_metrics
from extplane.runtime.kit import ServiceKit

EVENTS = "extplane_metering_events_total"
TOKENS = "extplane_metering_tokens_total"


async def test_stored_events_and_tokens_are_counted_by_namespace_and_model(
    start_metering: StartMetering,
) -> None:
    metering = await start_metering()

    await metering.record(event(namespace="a", model="m1", tokens_in=10, tokens_out=1))
    await metering.batch(
        event(namespace="a", model="m1", tokens_in=5, tokens_out=2),
        event(namespace="a", model="m2", tokens_in=7, tokens_out=0),
        event(namespace="b", model="m1", tokens_in=1, tokens_out=1),
    )

    assert metering.metric(EVENTS, namespace="a", model="m1") == 2
    assert metering.metric(EVENTS, namespace="a", model="m2") == 1
    assert metering.metric(EVENTS, namespace="b", model="m1") == 1
    assert metering.metric(TOKENS, namespace="a", model="m1", direction="in") == 15
    assert metering.metric(TOKENS, namespace="a", model="m1", direction="out") == 3
    assert metering.metric(TOKENS, namespace="a", model="m2", direction="in") == 7
    assert metering.metric(TOKENS, namespace="a", model="m2", direction="out") == 0


async def test_duplicates_are_counted_apart_and_not_as_events(
    start_metering: StartMetering,
) -> None:
    metering = await start_metering()

    await metering.record(event(namespace="a", model="m", tokens_in=10, event_id="x"))
    await metering.record(event(namespace="a", model="m", tokens_in=10, event_id="x"))
    await metering.batch(
        event(namespace="a", model="m", tokens_in=10, event_id="x"),
        event(namespace="a", model="m", tokens_in=10, event_id="y"),
        event(namespace="a", model="m", tokens_in=10, event_id="y"),
    )

    assert metering.metric(EVENTS, namespace="a", model="m") == 2
    assert metering.metric(TOKENS, namespace="a", model="m", direction="in") == 20
    assert metering.metric("extplane_metering_duplicate_events_total") == 3


async def test_label_pairs_past_the_bound_are_counted_as_other(
    start_metering: StartMetering,
) -> None:
    metering = await start_metering(metrics_max_series=2)

    await metering.batch(
        *[event(namespace=f"ns{i}", model="m", tokens_in=1) for i in range(5)],
        event(namespace="ns0", model="m", tokens_in=1),
    )

    assert metering.metric(EVENTS, namespace="ns0", model="m") == 2
    assert metering.metric(EVENTS, namespace="ns1", model="m") == 1
    assert metering.metric(EVENTS, namespace="_other", model="_other") == 3
    assert metering.metric(TOKENS, namespace="_other", model="_other", direction="in") == 3
    exposed = generate_latest(metering.registry).decode()
    assert 'namespace="ns4"' not in exposed


def test_families_are_registered_once_per_registry() -> None:
    registry = CollectorRegistry()
    first = MeteringMetrics(registry, max_series=10)
    second = MeteringMetrics(registry, max_series=10)

    first.rejected("RecordMetering", 1)
    second.rejected("RecordMetering", 2)

    rejected = registry.get_sample_value(
        "extplane_metering_rejected_events_total", {"rpc": "RecordMetering"}
    )
    assert rejected == 3


async def test_the_service_reports_to_the_process_registry_by_default(tmp_path: Path) -> None:
    service = MeteringService(MeteringSettings(port=0), ServiceKit.for_directory(tmp_path))
    registry = process_metrics().registry
    before = registry.get_sample_value("extplane_metering_pruned_events_total") or 0.0

    service.metrics.pruned(4)

    exposed = generate_latest(registry).decode()
    assert registry.get_sample_value("extplane_metering_pruned_events_total") == before + 4
    # Labelled families appear with their first sample; these have none.
    for family in ("duplicate_events", "expired_events", "pruned_events"):
        assert f"# TYPE extplane_metering_{family}_total counter" in exposed
