"""The merge rule end to end, through real extension providers."""

from __future__ import annotations

from capabilities_support import ServeCapabilities, StartProvider, fetch_snapshot

from extplane.capabilities.config import CapabilitiesSettings


async def test_core_wins_then_first_provider_and_reserved_metadata_is_dropped(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities
) -> None:
    first = await start_provider(
        features={"audit": True, "shared": True, "first.only": True},
        metadata={"owner": "first", "extplane.version": "9.9.9"},
    )
    second = await start_provider(
        features={"shared": False, "second.only": True},
        metadata={"owner": "second", "extplane.providers.degraded": ""},
    )
    settings = CapabilitiesSettings(providers=[first.settings("first"), second.settings("second")])
    _, address = await serve_capabilities(settings, running_services=["capabilities"])

    snapshot = await fetch_snapshot(address)

    assert snapshot.features["audit"] is False  # core: audit does not run here
    assert snapshot.features["shared"] is True  # the first provider in configured order
    assert snapshot.features["first.only"] is True
    assert snapshot.features["second.only"] is True
    assert snapshot.metadata["owner"] == "first"
    assert snapshot.metadata["extplane.version"] != "9.9.9"
    assert "extplane.providers.degraded" not in snapshot.metadata
    assert snapshot.metadata["extplane.providers.conflicts"] == ",".join(
        [
            "first:features.audit",
            "first:metadata.extplane.version",
            "second:features.shared",
            "second:metadata.extplane.providers.degraded",
            "second:metadata.owner",
        ]
    )


async def test_precedence_follows_configured_order_not_answer_order(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities
) -> None:
    # The preferred provider answers last; it still wins.
    preferred = await start_provider(features={"shared": True}, delay_s=0.2)
    quick = await start_provider(features={"shared": False})
    settings = CapabilitiesSettings(
        providers=[preferred.settings("preferred"), quick.settings("quick")],
        provider_timeout_s=5.0,
    )
    _, address = await serve_capabilities(settings)

    snapshot = await fetch_snapshot(address)

    assert snapshot.features["shared"] is True
    assert snapshot.metadata["extplane.providers.conflicts"] == "quick:features.shared"
