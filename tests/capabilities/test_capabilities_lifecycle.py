"""The service as a `GrpcServiceDefinition`: names, lifecycle, channel ownership."""

from __future__ import annotations

import grpc
import pydantic
import pytest
from capabilities_support import ServeCapabilities, StartProvider, fetch_snapshot

from extplane.capabilities.config import CapabilitiesSettings, ExtensionProviderSettings
from extplane.capabilities.providers import NotStartedError
from extplane.capabilities.service import CapabilitiesService
from extplane.runtime.lifecycle import Lifecycle
from extplane.runtime.service import GrpcServiceDefinition
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc


class RecordingChannels:
    """A channel factory that remembers what it opened."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, grpc.aio.Channel]] = []

    def __call__(self, address: str) -> grpc.aio.Channel:
        channel = grpc.aio.insecure_channel(address)
        self.opened.append((address, channel))
        return channel


def two_providers() -> CapabilitiesSettings:
    return CapabilitiesSettings(
        providers=[
            ExtensionProviderSettings(name="b", address="127.0.0.1:1"),
            ExtensionProviderSettings(name="a", address="127.0.0.1:2"),
        ]
    )


def test_the_service_names_its_grpc_service() -> None:
    service: GrpcServiceDefinition = CapabilitiesService(
        CapabilitiesSettings(), running_services=["capabilities"]
    )

    assert service.name == "capabilities"
    assert list(service.service_names) == ["orloj.extensions.v1.CapabilityProvider"]
    assert (
        service.service_names[0]
        == capabilities_pb2.DESCRIPTOR.services_by_name["CapabilityProvider"].full_name
    )
    assert isinstance(service, Lifecycle)


def test_an_unknown_running_service_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="running_services"):
        CapabilitiesService(CapabilitiesSettings(), running_services=["capabilities", "nope"])


async def test_configured_deployment_services_replace_the_hosted_ones() -> None:
    settings = CapabilitiesSettings(deployment_services=["gateway", "audit"])
    service = CapabilitiesService(settings, running_services=["capabilities"])

    async with service:
        snapshot = await service.snapshot()

    # The answering service runs, whatever the list says.
    assert [name for name, on in snapshot.features.items() if on] == [
        "capabilities",
        "gateway",
        "audit",
    ]
    assert snapshot.metadata["extplane.services"] == "capabilities,gateway,audit"


def test_an_unknown_deployment_service_is_refused_by_field() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"deployment_services\.0"):
        CapabilitiesSettings.model_validate({"deployment_services": ["billing"]})


async def test_stop_is_safe_without_start_and_twice() -> None:
    service = CapabilitiesService(two_providers(), running_services=["capabilities"])

    await service.stop()
    await service.stop()


async def test_channels_open_on_start_in_configured_order_and_close_on_stop() -> None:
    channels = RecordingChannels()
    service = CapabilitiesService(
        two_providers(), running_services=["capabilities"], channel_factory=channels
    )
    assert channels.opened == []

    await service.start()
    await service.start()
    assert [address for address, _ in channels.opened] == ["127.0.0.1:1", "127.0.0.1:2"]

    await service.stop()
    await service.stop()
    for _, channel in channels.opened:
        stub = capabilities_pb2_grpc.CapabilityProviderStub(channel)
        with pytest.raises(grpc.aio.UsageError):
            await stub.Capabilities(capabilities_pb2.CapabilitiesRequest())


async def test_snapshots_need_a_started_service() -> None:
    service = CapabilitiesService(CapabilitiesSettings(), running_services=["capabilities"])

    with pytest.raises(NotStartedError):
        await service.snapshot()
    async with service:
        assert (await service.snapshot()).features["capabilities"] is True
    with pytest.raises(NotStartedError):
        await service.snapshot()


async def test_the_service_can_start_again_after_stop(
    start_provider: StartProvider, serve_capabilities: ServeCapabilities
) -> None:
    provider = await start_provider(features={"acme": True})
    service, address = await serve_capabilities(
        CapabilitiesSettings(providers=[provider.settings("acme")])
    )

    await service.stop()
    await service.start()

    assert (await fetch_snapshot(address)).features["acme"] is True
