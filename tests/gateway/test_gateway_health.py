"""`/healthz` (alive), `/readyz` (the gateway's own readiness) and `/upstreamz`
(each routed upstream's health, reported but never gating readiness)."""

from __future__ import annotations

import grpc
import httpx
from gateway_servers import (
    CAPABILITY_SERVICE,
    ROUTED_SERVICES,
    Gateway,
    Upstream,
    close_gateway,
    open_gateway,
    serving_upstream,
)
from grpc_health.v1 import health_pb2
from query_fakes import METERING_TOKEN, bearer

from extplane.gateway import GatewaySettings, create_app
from extplane.gateway.draining import RequestDrain
from tests.loopback import dead_address, unused_port


async def test_healthz_answers_ok(gateway: Gateway) -> None:
    response = await gateway.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_healthz_answers_even_with_no_upstream() -> None:
    gateway = await open_gateway(f"127.0.0.1:{unused_port()}")
    try:
        response = await gateway.client.get("/healthz")
    finally:
        await close_gateway(gateway)
    assert response.status_code == 200


async def test_readyz_is_200_when_the_upstream_is_serving(gateway: Gateway) -> None:
    response = await gateway.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


async def test_readyz_stays_200_when_every_upstream_is_down() -> None:
    gateway = await open_gateway(dead_address())
    try:
        ready = await gateway.client.get("/readyz")
        routed = await gateway.client.get("/v1/capabilities")
    finally:
        await close_gateway(gateway)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}
    assert routed.status_code == 503


async def test_an_upstream_that_is_down_costs_its_own_routes_only() -> None:
    async with serving_upstream() as capabilities, serving_upstream() as queries:
        routes = {CAPABILITY_SERVICE: capabilities.address}
        gateway = await open_gateway(
            queries.address, upstream_for=lambda service: routes.get(service, queries.address)
        )
        try:
            assert (await gateway.client.get("/v1/capabilities")).status_code == 200
            await capabilities.server.stop(None)

            ready = await gateway.client.get("/readyz")
            down = await gateway.client.get("/v1/capabilities")
            other = await gateway.client.get("/v1/metering/events", headers=bearer(METERING_TOKEN))
            report = await gateway.client.get("/upstreamz")
        finally:
            await close_gateway(gateway)
    assert ready.status_code == 200
    assert down.status_code == 503
    assert down.headers["content-type"] == "application/json"
    status = down.json()
    assert status["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    assert status["message"] == f"upstream {CAPABILITY_SERVICE} unavailable"
    assert status["details"] == []
    assert other.status_code == 200, other.text
    assert report.status_code == 503
    assert report.json()["upstreams"] == {
        **dict.fromkeys(ROUTED_SERVICES, "SERVING"),
        CAPABILITY_SERVICE: "UNAVAILABLE",
    }


async def test_readyz_is_503_once_draining_began() -> None:
    # Not over the wire: a draining GatewayServer has closed its listener already,
    # so no new request reaches /readyz there; the app answers it this way.
    drain = RequestDrain()
    app = create_app(GatewaySettings(), lambda service: dead_address(), drain=drain)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:
        assert (await client.get("/readyz")).json() == {"status": "ready"}
        drain.begin()
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "draining"}


async def test_upstreamz_is_200_when_the_upstream_is_serving(gateway: Gateway) -> None:
    response = await gateway.client.get("/upstreamz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "upstreams": dict.fromkeys(ROUTED_SERVICES, "SERVING"),
    }


async def test_upstreamz_is_503_when_the_upstream_is_not_serving(
    gateway: Gateway, upstream: Upstream
) -> None:
    await upstream.health.set(CAPABILITY_SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING)
    response = await gateway.client.get("/upstreamz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "upstreams": {
            **dict.fromkeys(ROUTED_SERVICES, "SERVING"),
            CAPABILITY_SERVICE: "NOT_SERVING",
        },
        "not_ready": [CAPABILITY_SERVICE],
    }
    assert (await gateway.client.get("/readyz")).status_code == 200


async def test_upstreamz_is_503_when_the_upstream_is_down() -> None:
    gateway = await open_gateway(f"127.0.0.1:{unused_port()}")
    try:
        response = await gateway.client.get("/upstreamz")
    finally:
        await close_gateway(gateway)
    assert response.status_code == 503
    assert response.json()["not_ready"] == list(ROUTED_SERVICES)
    assert response.json()["upstreams"] == dict.fromkeys(ROUTED_SERVICES, "UNAVAILABLE")


async def test_upstreamz_is_503_when_the_upstream_has_no_health_service() -> None:
    async with serving_upstream(health=False) as upstream:
        gateway = await open_gateway(upstream.address)
        try:
            response = await gateway.client.get("/upstreamz")
        finally:
            await close_gateway(gateway)
    assert response.status_code == 503
    assert response.json()["upstreams"][CAPABILITY_SERVICE] == "UNIMPLEMENTED"
