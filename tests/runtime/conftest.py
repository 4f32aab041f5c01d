"""Real servers on loopback ports for the runtime tests."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import grpc.aio
import pytest
from runtime_slow_service import SlowCapabilities, SlowDefinition

from extplane.config import MetricsSettings, Settings
from extplane.runtime import Metrics
from extplane.runtime.channels import create_channel
from extplane.runtime.server import GrpcServer
from extplane_protos.orloj.extensions.v1 import capabilities_pb2_grpc


@pytest.fixture
def settings() -> Settings:
    return Settings(shutdown_grace_s=5.0, metrics=MetricsSettings(port=0))


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def servicer() -> SlowCapabilities:
    return SlowCapabilities()


@pytest.fixture
def definition(servicer: SlowCapabilities) -> SlowDefinition:
    return SlowDefinition(servicer)


@pytest.fixture
def server(definition: SlowDefinition, settings: Settings, metrics: Metrics) -> GrpcServer:
    return GrpcServer(
        definition,
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=settings.shutdown_grace_s,
        metrics=metrics,
    )


@pytest.fixture
async def running(server: GrpcServer, servicer: SlowCapabilities) -> AsyncIterator[GrpcServer]:
    await server.start()
    yield server
    servicer.release.set()
    await server.stop(0)


@pytest.fixture
async def channel(running: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    async with create_channel(running.address) as channel:
        yield channel


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> capabilities_pb2_grpc.CapabilityProviderStub:
    return capabilities_pb2_grpc.CapabilityProviderStub(channel)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Tests that configure the root logger put it back the way they found it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
