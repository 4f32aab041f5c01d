"""GatewayServer's lifecycle: ready on return from start(), stop() safe anytime."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from gateway_servers import Upstream

from extplane.gateway import GatewayServer, GatewaySettings
from extplane.gateway.server import _bind
from extplane.runtime.lifecycle import Lifecycle


def _server(upstream_address: str, port: int = 0) -> GatewayServer:
    return GatewayServer(
        GatewaySettings(port=port), host="127.0.0.1", upstream_for=lambda _: upstream_address
    )


async def test_start_returns_listening_on_an_ephemeral_port(upstream: Upstream) -> None:
    server = _server(upstream.address)
    assert isinstance(server, Lifecycle)
    async with server:
        assert server.port > 0
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{server.port}/v1/capabilities")
        assert response.status_code == 200
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{server.port}/healthz")


async def test_stop_is_safe_without_start_and_twice(upstream: Upstream) -> None:
    never_started = _server(upstream.address)
    await never_started.stop()
    await never_started.stop()

    server = _server(upstream.address)
    await server.start()
    await server.start()  # a second start is a no-op
    await server.stop()
    await server.stop()


async def test_port_before_start_is_an_error(upstream: Upstream) -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = _server(upstream.address).port


async def test_a_taken_port_fails_start_with_oserror(upstream: Upstream) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = _server(upstream.address, port=taken.getsockname()[1])
        with pytest.raises(OSError, match="in use"):
            await server.start()
        await server.stop()


async def test_an_in_flight_request_finishes_during_stop(upstream: Upstream) -> None:
    upstream.provider.delay_s = 0.5
    server = _server(upstream.address)
    await server.start()
    async with httpx.AsyncClient(timeout=30.0) as client:
        request = asyncio.create_task(client.get(f"http://127.0.0.1:{server.port}/v1/capabilities"))
        await asyncio.wait_for(upstream.provider.called.wait(), timeout=30.0)
        await server.stop()
        response = await request
    assert response.status_code == 200


def test_accepted_connections_do_not_wait_for_delayed_acks() -> None:
    # Without TCP_NODELAY every small response waited ~40 ms for the client's
    # delayed ACK (bench/capabilities.py found it); accepted sockets inherit it.
    listener = _bind("127.0.0.1", 0)
    with listener, socket.create_connection(listener.getsockname()[:2], timeout=5):
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
