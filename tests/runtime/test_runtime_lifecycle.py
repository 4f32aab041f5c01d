"""The shared lifecycle of servers and endpoints: start, stop, failure, signals."""

from __future__ import annotations

import asyncio
import os
import signal

import grpc
import pytest
from runtime_slow_service import SlowCapabilities, SlowDefinition

from extplane.config import Settings
from extplane.runtime import Metrics, MetricsEndpoint
from extplane.runtime.channels import create_channel
from extplane.runtime.lifecycle import AsyncLifecycle, Drainable
from extplane.runtime.server import GrpcServer
from extplane.runtime.signals import run_until_signal
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

WAIT_S = 30


class Recorder(AsyncLifecycle):
    def __init__(self, name: str, log: list[str], *, fail_start: bool = False) -> None:
        self.name, self.log, self.fail_start = name, log, fail_start

    async def start(self) -> None:
        self.log.append(f"start {self.name}")
        if self.fail_start:
            raise RuntimeError(f"{self.name} cannot start")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


def make_server(settings: Settings, metrics: Metrics, port: int = 0) -> GrpcServer:
    return GrpcServer(
        SlowDefinition(SlowCapabilities()),
        host="127.0.0.1",
        port=port,
        shutdown_grace_s=settings.shutdown_grace_s,
        metrics=metrics,
    )


async def test_stop_is_safe_without_start_and_twice(settings: Settings, metrics: Metrics) -> None:
    server = make_server(settings, metrics)
    endpoint = MetricsEndpoint(settings.metrics, metrics)
    for component in (server, endpoint):
        await component.stop()
        await component.stop()
    with pytest.raises(RuntimeError, match="not bound"):
        _ = server.port
    assert isinstance(server, Drainable)

    async with server:
        pass
    await server.stop()
    assert server.definition.stop_calls == 1  # type: ignore[attr-defined]


async def test_failed_service_start_releases_the_port(settings: Settings, metrics: Metrics) -> None:
    definition = SlowDefinition(SlowCapabilities())
    definition.fail_start = RuntimeError("store unavailable")
    failing = GrpcServer(
        definition,
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=settings.shutdown_grace_s,
        metrics=metrics,
    )

    with pytest.raises(RuntimeError, match="store unavailable"):
        await failing.start()

    assert definition.stop_calls == 1
    again = make_server(settings, metrics, port=failing.port)
    async with again, create_channel(again.address) as channel:
        stub = capabilities_pb2_grpc.CapabilityProviderStub(channel)
        await stub.Capabilities(capabilities_pb2.CapabilitiesRequest(), timeout=WAIT_S)


async def test_a_port_in_use_fails_the_start(settings: Settings, metrics: Metrics) -> None:
    async with make_server(settings, metrics) as first:
        second = make_server(settings, metrics, port=first.port)
        with pytest.raises(RuntimeError, match=f"127.0.0.1:{first.port}"):
            await second.start()
        await second.stop()


async def test_failed_start_stops_what_started_in_reverse_and_raises() -> None:
    log: list[str] = []
    components = [Recorder("a", log), Recorder("b", log), Recorder("c", log, fail_start=True)]

    async def announce() -> None:
        log.append("announced")

    with pytest.raises(RuntimeError, match="c cannot start"):
        await run_until_signal(components, grace=1, on_started=announce)

    assert log == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]


async def test_signal_while_starting_abandons_the_start_and_returns(
    settings: Settings, metrics: Metrics
) -> None:
    gate = asyncio.Event()  # never set: the service would start forever
    definition = SlowDefinition(SlowCapabilities(), start_gate=gate)
    server = GrpcServer(
        definition,
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=settings.shutdown_grace_s,
        metrics=metrics,
    )
    log: list[str] = []
    running = asyncio.ensure_future(run_until_signal([Recorder("a", log), server], grace=WAIT_S))

    await asyncio.wait_for(definition.start_entered.wait(), WAIT_S)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(running, WAIT_S)

    assert definition.stop_calls == 1
    assert log == ["start a", "stop a"]
    async with create_channel(f"127.0.0.1:{server.port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await capabilities_pb2_grpc.CapabilityProviderStub(channel).Capabilities(
                capabilities_pb2.CapabilitiesRequest(), timeout=WAIT_S
            )
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
