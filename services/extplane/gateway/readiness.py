"""Upstream health: each routed service's answer to a gRPC health Check.

Reported by `/upstreamz`; it never gates `/readyz`. A gateway taken out of its
Service because one upstream is down would also stop serving the routes of
every other upstream, so an upstream that is down costs its own routes only
(each answers 503 UNAVAILABLE) and the gateway stays ready.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2

from extplane.gateway.channels import UpstreamChannels
from extplane.gateway.types import UpstreamResolver

logger = logging.getLogger(__name__)

SERVING = "SERVING"
_CHECK_PATH = "/grpc.health.v1.Health/Check"


async def _service_state(
    service: str, upstream_for: UpstreamResolver, channels: UpstreamChannels, timeout_s: float
) -> str:
    try:
        address = upstream_for(service)
    except (LookupError, ValueError):
        logger.warning("no upstream address for %s", service)
        return "NO_UPSTREAM"
    check = channels.get(address).unary_unary(
        _CHECK_PATH,
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    try:
        reply = await check(health_pb2.HealthCheckRequest(service=service), timeout=timeout_s)
    except grpc.aio.AioRpcError as exc:
        return exc.code().name
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def upstream_states(
    services: Sequence[str],
    upstream_for: UpstreamResolver,
    channels: UpstreamChannels,
    timeout_s: float,
) -> dict[str, str]:
    """Service name -> its health state ("SERVING", "NOT_SERVING", "UNAVAILABLE", ...)."""
    states = await asyncio.gather(
        *(_service_state(s, upstream_for, channels, timeout_s) for s in services)
    )
    return dict(zip(services, states, strict=True))


async def upstream_report(
    services: Sequence[str],
    upstream_for: UpstreamResolver,
    channels: UpstreamChannels,
    timeout_s: float,
) -> tuple[int, dict[str, object]]:
    """(HTTP status, body) of `/upstreamz`: 200 when every upstream is SERVING, else 503."""
    states = await upstream_states(services, upstream_for, channels, timeout_s)
    not_serving = sorted(service for service, state in states.items() if state != SERVING)
    body: dict[str, object] = {
        "status": "not_ready" if not_serving else "ready",
        "upstreams": states,
    }
    if not_serving:
        body["not_ready"] = not_serving
    return (503 if not_serving else 200), body
