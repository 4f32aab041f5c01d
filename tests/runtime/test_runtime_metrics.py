"""Prometheus RPC metrics, scraped over HTTP like Prometheus would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import grpc.aio
import httpx
import pytest
from prometheus_client import Counter
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from runtime_slow_service import SERVICE_NAME, SlowCapabilities, SlowDefinition

from extplane.config import MetricsSettings, Settings
from extplane.runtime import Metrics, MetricsEndpoint
from extplane.runtime.channels import create_channel
from extplane.runtime.server import GrpcServer
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

REQUEST = capabilities_pb2.CapabilitiesRequest()
METHOD = {"grpc_service": SERVICE_NAME, "grpc_method": "Capabilities"}


@pytest.fixture
async def endpoint(settings: Settings, metrics: Metrics) -> AsyncIterator[MetricsEndpoint]:
    async with MetricsEndpoint(settings.metrics, metrics) as endpoint:
        yield endpoint


async def scrape(endpoint: MetricsEndpoint) -> list[Sample]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{endpoint.port}/metrics", timeout=30)
    assert response.status_code == 200
    return [
        sample
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    ]


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    for sample in samples:
        if sample.name == name and sample.labels == labels:
            return sample.value
    return None


async def test_handled_calls_are_counted_by_method_and_code(
    endpoint: MetricsEndpoint, stub: capabilities_pb2_grpc.CapabilityProviderStub
) -> None:
    await stub.Capabilities(REQUEST, timeout=30)
    await stub.Capabilities(REQUEST, timeout=30)
    for metadata in ([("x-fail", "NOT_FOUND")], [("x-crash", "1")]):
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Capabilities(REQUEST, metadata=metadata, timeout=30)

    samples = await scrape(endpoint)

    handled = "extplane_grpc_server_handled_total"
    assert value(samples, handled, **METHOD, grpc_code="OK") == 2
    assert value(samples, handled, **METHOD, grpc_code="NOT_FOUND") == 1
    assert value(samples, handled, **METHOD, grpc_code="INTERNAL") == 1
    assert value(samples, "extplane_grpc_server_started_total", **METHOD) == 4
    assert value(samples, "extplane_grpc_server_handling_seconds_count", **METHOD) == 4
    assert value(samples, "extplane_grpc_server_handling_seconds_bucket", **METHOD, le="+Inf") == 4
    assert value(samples, "extplane_grpc_server_handling_seconds_sum", **METHOD) is not None


async def test_servers_of_one_process_share_the_endpoint_and_services_add_their_own(
    endpoint: MetricsEndpoint, settings: Settings, metrics: Metrics
) -> None:
    metered = Counter("extplane_test_events_total", "Events.", registry=metrics.registry)
    metered.inc(3)
    servers = [
        GrpcServer(
            SlowDefinition(SlowCapabilities()),
            host="127.0.0.1",
            port=0,
            shutdown_grace_s=settings.shutdown_grace_s,
            metrics=metrics,
        )
        for _ in range(2)
    ]
    for server in servers:
        async with server, create_channel(server.address) as channel:
            await capabilities_pb2_grpc.CapabilityProviderStub(channel).Capabilities(REQUEST)

    samples = await scrape(endpoint)

    assert value(samples, "extplane_grpc_server_handled_total", **METHOD, grpc_code="OK") == 2
    assert value(samples, "extplane_test_events_total") == 3


async def test_disabled_endpoint_serves_nothing(metrics: Metrics) -> None:
    async with MetricsEndpoint(MetricsSettings(enabled=False, port=0), metrics) as endpoint:
        assert endpoint.port is None


async def test_endpoint_stops_listening(settings: Settings, metrics: Metrics) -> None:
    endpoint = MetricsEndpoint(settings.metrics, metrics)
    await endpoint.stop()
    await endpoint.start()
    port = endpoint.port
    await endpoint.stop()
    await endpoint.stop()

    assert endpoint.port is None
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/metrics", timeout=30)
