"""Fixtures of the capability tests: real servers started and stopped per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import grpc
import pytest
from capabilities_support import (
    FakeProvider,
    ServeCapabilities,
    StartProvider,
    start_server,
)

from extplane.capabilities.config import CapabilitiesSettings
from extplane.capabilities.service import CapabilitiesService
from extplane_protos.orloj.extensions.v1 import capabilities_pb2_grpc
from tests import loopback


@pytest.fixture
async def servers() -> AsyncIterator[list[grpc.aio.Server]]:
    started: list[grpc.aio.Server] = []
    yield started
    await asyncio.gather(*(server.stop(grace=None) for server in started))


@pytest.fixture
def start_provider(servers: list[grpc.aio.Server]) -> StartProvider:
    """Starts a `FakeProvider` on its own real server; keyword arguments configure it."""

    async def start(**options: object) -> FakeProvider:
        provider = FakeProvider(**options)  # type: ignore[arg-type]

        def register(server: grpc.aio.Server) -> None:
            capabilities_pb2_grpc.add_CapabilityProviderServicer_to_server(provider, server)

        server, provider.address = await start_server(register)
        servers.append(server)
        return provider

    return start


@pytest.fixture
async def serve_capabilities(
    servers: list[grpc.aio.Server],
) -> AsyncIterator[ServeCapabilities]:
    """Runs a started `CapabilitiesService` on a real server; returns it and its address."""
    services: list[CapabilitiesService] = []

    async def serve(
        settings: CapabilitiesSettings,
        *,
        running_services: Sequence[str] = ("capabilities",),
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
        **options: object,
    ) -> tuple[CapabilitiesService, str]:
        service = CapabilitiesService(
            settings,
            running_services=running_services,
            **options,  # type: ignore[arg-type]
        )
        server, address = await start_server(service.add_to_server, interceptors)
        servers.append(server)
        await service.start()
        services.append(service)
        return service, address

    yield serve
    for service in services:
        await service.stop()


@pytest.fixture
def dead_address() -> str:
    return loopback.dead_address()
