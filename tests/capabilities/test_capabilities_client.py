"""The typed Python client against the real service."""

from __future__ import annotations

import grpc
import pytest
from capabilities_support import ServeCapabilities, StartProvider, start_server

from extplane.capabilities.config import CapabilitiesSettings, ExtensionProviderSettings
from extplane.capabilities.service import CapabilitiesService
from extplane_client.capabilities import CapabilitiesClient, CapabilitiesError, CapabilitySnapshot
from extplane_client.testing import serve_capability_provider


async def test_the_client_reads_a_typed_snapshot(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities, dead_address: str
) -> None:
    provider = await start_provider(features={"audit": True, "acme.invoicing": True})
    settings = CapabilitiesSettings(
        providers=[
            provider.settings("acme"),
            ExtensionProviderSettings(name="dead", address=dead_address),
        ]
    )
    _, address = await serve_capabilities(settings, running_services=["capabilities", "metering"])

    async with CapabilitiesClient(address) as client:
        snapshot = await client.snapshot(timeout=5.0)

    assert isinstance(snapshot, CapabilitySnapshot)
    assert snapshot.features["metering"] is True
    assert snapshot.features["audit"] is False
    assert snapshot.features["acme.invoicing"] is True
    assert snapshot.features.get("never.heard.of") is None
    assert snapshot.degraded_providers == {"dead": "UNAVAILABLE"}
    assert snapshot.conflicts == ("acme:features.audit",)


async def test_nothing_listening_is_a_capabilities_error_with_its_code(dead_address: str) -> None:
    async with CapabilitiesClient(dead_address) as client:
        with pytest.raises(CapabilitiesError) as raised:
            await client.snapshot(timeout=5.0)

    assert raised.value.code is grpc.StatusCode.UNAVAILABLE
    assert str(raised.value).startswith("UNAVAILABLE")
    assert isinstance(raised.value.__cause__, grpc.aio.AioRpcError)


async def test_a_missed_deadline_is_a_capabilities_error(start_provider: StartProvider) -> None:
    slow = await start_provider(delay_s=30.0)

    async with CapabilitiesClient(slow.address) as client:
        with pytest.raises(CapabilitiesError) as raised:
            await client.snapshot(timeout=0.2)

    assert raised.value.code is grpc.StatusCode.DEADLINE_EXCEEDED


async def test_a_service_not_started_answers_unavailable(
    servers: list[grpc.aio.Server],
) -> None:
    service = CapabilitiesService(CapabilitiesSettings(), running_services=["capabilities"])
    server, address = await start_server(service.add_to_server)
    servers.append(server)

    async with CapabilitiesClient(address) as client:
        with pytest.raises(CapabilitiesError) as raised:
            await client.snapshot()

    assert raised.value.code is grpc.StatusCode.UNAVAILABLE
    assert "not started" in raised.value.details


async def test_an_answer_without_a_snapshot_is_refused(start_provider: StartProvider) -> None:
    broken = await start_provider(omit_snapshot=True)

    async with CapabilitiesClient(broken.address) as client:
        with pytest.raises(CapabilitiesError) as raised:
            await client.snapshot()

    assert raised.value.code is grpc.StatusCode.INTERNAL


async def test_a_borrowed_channel_stays_open_after_close(
    serve_capabilities: ServeCapabilities,
) -> None:
    _, address = await serve_capabilities(CapabilitiesSettings())

    async with grpc.aio.insecure_channel(address) as channel:
        async with CapabilitiesClient(channel) as client:
            first = await client.snapshot()
        async with CapabilitiesClient(channel) as again:
            second = await again.snapshot()

    assert first == second


async def test_bad_arguments_are_refused_by_name(dead_address: str) -> None:
    with pytest.raises(ValueError, match="target"):
        CapabilitiesClient("")
    async with CapabilitiesClient(dead_address) as client:
        with pytest.raises(ValueError, match="timeout"):
            await client.snapshot(timeout=0)
        with pytest.raises(ValueError, match="timeout"):
            await client.snapshot(timeout=float("nan"))


async def test_a_closed_client_refuses_calls(dead_address: str) -> None:
    client = CapabilitiesClient(dead_address)
    await client.close()
    await client.close()

    with pytest.raises(RuntimeError, match="closed"):
        await client.snapshot()


async def test_the_public_provider_double_serves_over_real_grpc() -> None:
    async with serve_capability_provider(features={"billing": True}, metadata={"plan": "pro"}) as s:
        async with CapabilitiesClient(s.address) as client:
            snapshot = await client.snapshot(timeout=5)
        assert dict(snapshot.features) == {"billing": True}
        assert dict(snapshot.metadata) == {"plan": "pro"}
        assert s.provider.calls == 1
