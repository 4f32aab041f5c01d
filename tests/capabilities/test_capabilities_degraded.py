"""A slow or dead extension provider costs a bounded wait and a report, never the snapshot."""

from __future__ import annotations

import grpc
from capabilities_support import ServeCapabilities, StartProvider, fetch_snapshot, start_server
from prometheus_client import CollectorRegistry

import extplane
from extplane.capabilities.config import CapabilitiesSettings, ExtensionProviderSettings


async def test_slow_and_dead_providers_are_left_out_and_reported(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities, dead_address: str
) -> None:
    prompt = await start_provider(features={"acme.invoicing": True}, metadata={"acme.tier": "gold"})
    slow = await start_provider(features={"slow.feature": True}, delay_s=30.0)
    settings = CapabilitiesSettings(
        providers=[
            prompt.settings("prompt"),
            slow.settings("slow", timeout_s=0.3),
            ExtensionProviderSettings(name="dead", address=dead_address),
        ],
        provider_timeout_s=2.0,
    )
    _, address = await serve_capabilities(settings, running_services=["capabilities", "gateway"])

    # The RPC gets a generous deadline and must succeed within it.
    snapshot = await fetch_snapshot(address, timeout_s=5.0)

    assert snapshot.features["capabilities"] is True
    assert snapshot.features["gateway"] is True
    assert snapshot.features["audit"] is False
    assert snapshot.features["acme.invoicing"] is True
    assert snapshot.metadata["acme.tier"] == "gold"
    assert "slow.feature" not in snapshot.features
    assert snapshot.metadata["extplane.version"] == extplane.__version__
    assert snapshot.metadata["extplane.providers"] == "prompt,slow,dead"
    assert (
        snapshot.metadata["extplane.providers.degraded"]
        == "dead=UNAVAILABLE,slow=DEADLINE_EXCEEDED"
    )
    assert prompt.calls == 1
    assert slow.calls == 1


async def test_healthy_providers_leave_no_degraded_entry(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities
) -> None:
    provider = await start_provider(features={"acme.invoicing": True})
    _, address = await serve_capabilities(
        CapabilitiesSettings(providers=[provider.settings("acme")])
    )

    snapshot = await fetch_snapshot(address)

    assert snapshot.features["acme.invoicing"] is True
    assert "extplane.providers.degraded" not in snapshot.metadata
    assert "extplane.providers.conflicts" not in snapshot.metadata


async def test_invalid_answers_count_as_degraded(
    start_provider: StartProvider,
    serve_capabilities: ServeCapabilities,
    servers: list[grpc.aio.Server],
) -> None:
    no_snapshot = await start_provider(omit_snapshot=True)
    empty_key = await start_provider(features={"": True, "fine": True})
    # A real server that does not implement CapabilityProvider at all.
    server, not_a_provider = await start_server(lambda server: None)
    servers.append(server)
    settings = CapabilitiesSettings(
        providers=[
            no_snapshot.settings("nosnap"),
            empty_key.settings("emptykey"),
            ExtensionProviderSettings(name="other", address=not_a_provider),
        ]
    )
    _, address = await serve_capabilities(settings)

    snapshot = await fetch_snapshot(address)

    assert snapshot.metadata["extplane.providers.degraded"] == (
        "emptykey=INVALID_SNAPSHOT,nosnap=MISSING_SNAPSHOT,other=UNIMPLEMENTED"
    )
    assert "fine" not in snapshot.features


async def test_a_recovered_provider_is_merged_again(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities
) -> None:
    provider = await start_provider(features={"acme.invoicing": True}, omit_snapshot=True)
    _, address = await serve_capabilities(
        CapabilitiesSettings(providers=[provider.settings("acme")], cache_ttl_s=0)
    )

    degraded = await fetch_snapshot(address)
    provider.omit_snapshot = False
    recovered = await fetch_snapshot(address)

    assert degraded.metadata["extplane.providers.degraded"] == "acme=MISSING_SNAPSHOT"
    assert "acme.invoicing" not in degraded.features
    assert recovered.features["acme.invoicing"] is True
    assert "extplane.providers.degraded" not in recovered.metadata


async def test_provider_outcomes_are_counted_in_metrics(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities, dead_address: str
) -> None:
    registry = CollectorRegistry()

    def count(provider: str, outcome: str) -> float | None:
        labels = {"provider": provider, "outcome": outcome}
        return registry.get_sample_value("extplane_capabilities_provider_queries_total", labels)

    provider = await start_provider()
    settings = CapabilitiesSettings(
        providers=[
            provider.settings("ok"),
            ExtensionProviderSettings(name="dead", address=dead_address),
        ],
        cache_ttl_s=0,
    )
    _, address = await serve_capabilities(settings, registry=registry)
    # A second service on the same registry shares the family instead of clashing.
    _, other = await serve_capabilities(settings, registry=registry)

    await fetch_snapshot(address)
    await fetch_snapshot(other)

    assert count("ok", "OK") == 2
    assert count("dead", grpc.StatusCode.UNAVAILABLE.name) == 2
