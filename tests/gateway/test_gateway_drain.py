"""GatewayServer.drain: the `Drainable` lifecycle GrpcServer has, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from gateway_servers import Upstream
from google.api import httpbody_pb2
from query_fakes import AUDIT_TOKEN, CSV, Context, bearer

from extplane.gateway import GatewayServer, GatewaySettings
from extplane.gateway.draining import SHUTTING_DOWN
from extplane.runtime.lifecycle import Drainable
from extplane_protos.orloj.extensions.v1 import audit_query_pb2

# Far past any wait below: a request this slow only ends when a drain cuts it.
FOREVER_S = 3600.0
PATIENCE_S = 30.0


def _server(upstream: Upstream, grace_s: float = 600.0) -> GatewayServer:
    return GatewayServer(
        GatewaySettings(port=0),
        host="127.0.0.1",
        upstream_for=lambda _: upstream.address,
        shutdown_grace_s=grace_s,
    )


async def _in_flight(
    client: httpx.AsyncClient, upstream: Upstream, url: str
) -> asyncio.Task[httpx.Response]:
    """A GET that has reached the upstream's CapabilityProvider."""
    upstream.provider.called.clear()
    request = asyncio.create_task(client.get(url))
    await asyncio.wait_for(upstream.provider.called.wait(), PATIENCE_S)
    return request


async def _refusing_connections(port: int) -> None:
    """Returns once the gateway's port refuses new connections."""
    deadline = asyncio.get_running_loop().time() + PATIENCE_S
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            return
        writer.close()
        await writer.wait_closed()
        assert asyncio.get_running_loop().time() < deadline, "the port still accepts"
        await asyncio.sleep(0.01)


def _assert_cut_short(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "code": grpc.StatusCode.UNAVAILABLE.value[0],
        "message": SHUTTING_DOWN,
        "details": [],
    }


async def test_the_gateway_is_drainable(upstream: Upstream) -> None:
    assert isinstance(_server(upstream), Drainable)


async def test_drain_lets_a_request_in_flight_finish_and_refuses_new_connections(
    upstream: Upstream,
) -> None:
    upstream.provider.delay_s = 1.0
    server = _server(upstream)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/v1/capabilities"
    async with httpx.AsyncClient(timeout=PATIENCE_S) as client:
        request = await _in_flight(client, upstream, url)
        draining = asyncio.create_task(server.drain(600))
        await _refusing_connections(server.port)
        assert not request.done()
        response = await request
        await asyncio.wait_for(draining, PATIENCE_S)
    assert response.status_code == 200
    assert response.json()["features"] == {"agents": True, "billing": False}


async def test_drain_cuts_a_request_short_once_the_grace_is_spent(upstream: Upstream) -> None:
    upstream.provider.delay_s = FOREVER_S
    server = _server(upstream)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/v1/capabilities"
    async with httpx.AsyncClient(timeout=PATIENCE_S) as client:
        request = await _in_flight(client, upstream, url)
        await asyncio.wait_for(server.drain(0.5), PATIENCE_S)
        _assert_cut_short(await request)


async def test_drain_0_stops_at_once(upstream: Upstream) -> None:
    upstream.provider.delay_s = FOREVER_S
    server = _server(upstream)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/v1/capabilities"
    async with httpx.AsyncClient(timeout=PATIENCE_S) as client:
        request = await _in_flight(client, upstream, url)
        await asyncio.wait_for(server.drain(0), PATIENCE_S)
        _assert_cut_short(await request)


async def test_a_second_drain_with_a_smaller_grace_cuts_the_first_short(
    upstream: Upstream,
) -> None:
    upstream.provider.delay_s = FOREVER_S
    server = _server(upstream)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/v1/capabilities"
    async with httpx.AsyncClient(timeout=PATIENCE_S) as client:
        request = await _in_flight(client, upstream, url)
        patient = asyncio.create_task(server.drain(600))
        await _refusing_connections(server.port)
        assert not patient.done()
        await asyncio.wait_for(server.drain(0), PATIENCE_S)
        await asyncio.wait_for(patient, PATIENCE_S)
        _assert_cut_short(await request)


async def test_stop_drains_with_the_configured_grace(upstream: Upstream) -> None:
    upstream.provider.delay_s = FOREVER_S
    server = _server(upstream, grace_s=0.2)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/v1/capabilities"
    async with httpx.AsyncClient(timeout=PATIENCE_S) as client:
        request = await _in_flight(client, upstream, url)
        await asyncio.wait_for(server.stop(), PATIENCE_S)
        _assert_cut_short(await request)


async def test_a_download_cut_short_is_truncated_not_completed(upstream: Upstream) -> None:
    async def script(
        request: audit_query_pb2.ExportAuditEventsRequest, context: Context
    ) -> AsyncIterator[httpbody_pb2.HttpBody]:
        yield httpbody_pb2.HttpBody(content_type=CSV, data=b"head\r\n")
        await asyncio.sleep(FOREVER_S)
        yield httpbody_pb2.HttpBody(data=b"never\r\n")

    upstream.audit.export = script
    server = _server(upstream)
    await server.start()
    url = f"http://127.0.0.1:{server.port}/v1/audit/export"
    async with (
        httpx.AsyncClient(timeout=PATIENCE_S) as client,
        client.stream("GET", url, headers=bearer(AUDIT_TOKEN)) as response,
    ):
        pieces = response.aiter_raw()
        assert await anext(pieces) == b"head\r\n"
        await asyncio.wait_for(server.drain(0), PATIENCE_S)
        with pytest.raises(httpx.RemoteProtocolError):
            await anext(pieces)
    assert response.status_code == 200
    await asyncio.wait_for(upstream.audit.export_cancelled.wait(), PATIENCE_S)


async def test_drain_is_safe_without_start_and_twice(upstream: Upstream) -> None:
    never_started = _server(upstream)
    await never_started.drain(0)
    await never_started.drain(5)

    server = _server(upstream)
    await server.start()
    await server.drain(5)
    await server.drain(0)
    await server.stop()
