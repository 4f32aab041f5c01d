"""Providers get min(their timeout, the caller's remaining deadline)."""

from __future__ import annotations

import pytest
from capabilities_support import ServeCapabilities, StartProvider, fetch_snapshot

from extplane.capabilities.config import CapabilitiesSettings
from extplane.capabilities.providers import RESPONSE_RESERVE_MAX_S, provider_deadline

# Client and server clocks are read at slightly different moments, so a deadline
# seen by the provider may exceed the one sent by a few milliseconds.
CLOCK_SLACK_S = 0.5


def test_no_caller_deadline_leaves_the_provider_timeout() -> None:
    assert provider_deadline(0.5, None) == (0.5, False)


def test_a_generous_caller_deadline_leaves_the_provider_timeout() -> None:
    assert provider_deadline(0.5, 30.0) == (0.5, False)


def test_a_shorter_caller_deadline_wins_minus_a_reserve_for_the_answer() -> None:
    deadline, cut = provider_deadline(30.0, 2.0)

    assert cut is True
    assert deadline == pytest.approx(2.0 - RESPONSE_RESERVE_MAX_S)


def test_an_exhausted_caller_deadline_leaves_nothing() -> None:
    assert provider_deadline(30.0, 0.0) == (0.0, True)


async def test_providers_are_queried_with_the_callers_shorter_deadline(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities
) -> None:
    provider = await start_provider(features={"acme": True})
    settings = CapabilitiesSettings(providers=[provider.settings("acme", timeout_s=30.0)])
    _, address = await serve_capabilities(settings)

    snapshot = await fetch_snapshot(address, timeout_s=1.0)

    assert snapshot.features["acme"] is True
    [seen] = provider.seen_remaining
    assert seen is not None
    assert 0 < seen <= 1.0 + CLOCK_SLACK_S


async def test_without_a_caller_deadline_providers_get_their_own_timeout(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities
) -> None:
    provider = await start_provider()
    settings = CapabilitiesSettings(providers=[provider.settings("acme", timeout_s=3.0)])
    service, _ = await serve_capabilities(settings)

    await service.snapshot(caller_remaining_s=None)

    [seen] = provider.seen_remaining
    assert seen is not None
    assert 1.0 < seen <= 3.0 + CLOCK_SLACK_S


async def test_a_snapshot_cut_short_by_one_callers_deadline_is_not_cached(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities
) -> None:
    provider = await start_provider(features={"acme": True}, delay_s=0.5)
    settings = CapabilitiesSettings(
        providers=[provider.settings("acme", timeout_s=10.0)], cache_ttl_s=60.0
    )
    _, address = await serve_capabilities(settings)

    hurried = await fetch_snapshot(address, timeout_s=0.2)
    patient = await fetch_snapshot(address, timeout_s=10.0)

    assert hurried.metadata["extplane.providers.degraded"] == "acme=DEADLINE_EXCEEDED"
    assert patient.features["acme"] is True
    assert "extplane.providers.degraded" not in patient.metadata
    assert provider.calls == 2
