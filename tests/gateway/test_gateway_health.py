"""`/healthz` (the process is alive) and `/readyz` (every routed upstream is SERVING)."""

from __future__ import annotations

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

from tests.loopback import unused_port


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
    assert response.json() == {
        "status": "ready",
        "upstreams": dict.fromkeys(ROUTED_SERVICES, "SERVING"),
    }


async def test_readyz_is_503_when_the_upstream_is_not_serving(
    gateway: Gateway, upstream: Upstream
) -> None:
    await upstream.health.set(CAPABILITY_SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING)
    response = await gateway.client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "upstreams": {
            **dict.fromkeys(ROUTED_SERVICES, "SERVING"),
            CAPABILITY_SERVICE: "NOT_SERVING",
        },
        "not_ready": [CAPABILITY_SERVICE],
    }


async def test_readyz_is_503_when_the_upstream_is_down() -> None:
    gateway = await open_gateway(f"127.0.0.1:{unused_port()}")
    try:
        response = await gateway.client.get("/readyz")
    finally:
        await close_gateway(gateway)
    assert response.status_code == 503
    assert response.json()["not_ready"] == list(ROUTED_SERVICES)
    assert response.json()["upstreams"] == dict.fromkeys(ROUTED_SERVICES, "UNAVAILABLE")


async def test_readyz_is_503_when_the_upstream_has_no_health_service() -> None:
    async with serving_upstream(health=False) as upstream:
        gateway = await open_gateway(upstream.address)
        try:
            response = await gateway.client.get("/readyz")
        finally:
            await close_gateway(gateway)
    assert response.status_code == 503
    assert response.json()["upstreams"][CAPABILITY_SERVICE] == "UNIMPLEMENTED"
