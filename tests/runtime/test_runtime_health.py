"""Health follows the service: NOT_SERVING until it started, NOT_SERVING again once draining."""

from __future__ import annotations

import asyncio

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from runtime_slow_service import SERVICE_NAME, SlowCapabilities, SlowDefinition

from extplane.config import Settings
from extplane.runtime import Metrics
from extplane.runtime.channels import create_channel
from extplane.runtime.server import GrpcServer
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
WAIT_S = 30


async def check(channel: grpc.aio.Channel, service: str) -> int:
    health = health_pb2_grpc.HealthStub(channel)
    response = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=WAIT_S)
    return response.status


async def test_not_serving_until_the_service_started_then_serving(
    settings: Settings, metrics: Metrics
) -> None:
    gate = asyncio.Event()
    definition = SlowDefinition(SlowCapabilities(), start_gate=gate)
    server = GrpcServer(
        definition,
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=settings.shutdown_grace_s,
        metrics=metrics,
    )
    starting = asyncio.ensure_future(server.start())
    try:
        await asyncio.wait_for(definition.start_entered.wait(), WAIT_S)
        async with create_channel(server.address) as channel:
            assert await check(channel, "") == NOT_SERVING
            assert await check(channel, SERVICE_NAME) == NOT_SERVING
            assert not starting.done()

            gate.set()
            await asyncio.wait_for(starting, WAIT_S)
            assert await check(channel, "") == SERVING
            assert await check(channel, SERVICE_NAME) == SERVING
            with pytest.raises(grpc.aio.AioRpcError) as unknown:
                await check(channel, "no.such.Service")
            assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
    finally:
        gate.set()
        await server.stop(0)


async def test_watch_sees_not_serving_when_drain_begins_while_a_call_is_in_flight(
    running: GrpcServer,
    channel: grpc.aio.Channel,
    servicer: SlowCapabilities,
    definition: SlowDefinition,
) -> None:
    watch = health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=WAIT_S
    )
    assert (await watch.read()).status == SERVING
    stub = capabilities_pb2_grpc.CapabilityProviderStub(channel)
    slow = asyncio.ensure_future(
        stub.Capabilities(
            capabilities_pb2.CapabilitiesRequest(), metadata=[("x-hold", "1")], timeout=WAIT_S
        )
    )
    await asyncio.wait_for(servicer.entered.wait(), WAIT_S)

    stopping = asyncio.ensure_future(running.stop(grace=WAIT_S))
    assert (await watch.read()).status == NOT_SERVING
    # The watch ends by itself so it does not hold the drain open.
    assert await watch.read() is grpc.aio.EOF
    assert await watch.code() is grpc.StatusCode.OK
    assert not slow.done()
    assert definition.stop_calls == 0

    servicer.release.set()
    response = await asyncio.wait_for(slow, WAIT_S)
    assert response.snapshot.features["slow"] is True
    await asyncio.wait_for(stopping, WAIT_S)
    assert definition.stop_calls == 1
