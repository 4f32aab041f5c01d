"""Real servers for the gateway tests: a grpc.aio upstream and the gateway over uvicorn.

The upstream serves every routed contract: a fake CapabilityProvider and the
query fakes of `query_fakes` (MeteringQueryService, AuditQueryService).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import grpc
import httpx
from google.protobuf import any_pb2
from google.rpc import status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_status import rpc_status
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from query_fakes import (
    AUDIT_SERVICE,
    METERING_SERVICE,
    FakeAuditQuery,
    FakeMeteringQuery,
    add_query_fakes,
)

from extplane.gateway import GatewayServer, GatewaySettings
from extplane.gateway.registry import HttpBinding
from extplane.gateway.types import UpstreamResolver
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

CAPABILITY_SERVICE = "orloj.extensions.v1.CapabilityProvider"
# Routed, but no fake here: only its health is reported SERVING.
INSTALLS_SERVICE = "extplane.admin.v1.InstallRegistryService"
EXTENSION_LOGS_SERVICE = "extplane.admin.v1.ExtensionLogsService"
SECRETS_ADMIN_SERVICE = "extplane.admin.v1.SecretsAdminService"
CATALOGS_SERVICE = "extplane.admin.v1.CatalogAdminService"
EXTENSIONS_SERVICE = "extplane.admin.v1.ExtensionRegistryService"
# Every service with annotated routes, as /readyz lists them.
ROUTED_SERVICES = tuple(
    sorted(
        (
            CAPABILITY_SERVICE,
            METERING_SERVICE,
            AUDIT_SERVICE,
            INSTALLS_SERVICE,
            EXTENSION_LOGS_SERVICE,
            SECRETS_ADMIN_SERVICE,
            CATALOGS_SERVICE,
            EXTENSIONS_SERVICE,
        )
    )
)


@dataclass
class Failure:
    code: grpc.StatusCode
    message: str
    details: Sequence[any_pb2.Any] = ()


@dataclass
class FakeCapabilityProvider(capabilities_pb2_grpc.CapabilityProviderServicer):
    """Answers with `snapshot`, records each call's metadata, fails or stalls on demand."""

    snapshot: capabilities_pb2.CapabilitySnapshot = field(
        default_factory=lambda: capabilities_pb2.CapabilitySnapshot(
            features={"agents": True, "billing": False},
            metadata={"version": "1.2.3"},
        )
    )
    received: list[dict[str, str | bytes]] = field(default_factory=list)
    failure: Failure | None = None
    crash: bool = False
    delay_s: float = 0.0
    reply_metadata: tuple[tuple[str, str], ...] = ()
    called: asyncio.Event = field(default_factory=asyncio.Event)

    async def Capabilities(  # noqa: N802 - the RPC name
        self,
        request: capabilities_pb2.CapabilitiesRequest,
        context: grpc.aio.ServicerContext[
            capabilities_pb2.CapabilitiesRequest, capabilities_pb2.CapabilitiesResponse
        ],
    ) -> capabilities_pb2.CapabilitiesResponse:
        self.received.append(dict(context.invocation_metadata() or ()))
        self.called.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.crash:
            raise RuntimeError("secret internal detail at /srv/db.sqlite")
        if self.failure is not None:
            status = status_pb2.Status(
                code=self.failure.code.value[0],
                message=self.failure.message,
                details=list(self.failure.details),
            )
            await context.abort_with_status(rpc_status.to_status(status))
        if self.reply_metadata:
            await context.send_initial_metadata(self.reply_metadata)
        return capabilities_pb2.CapabilitiesResponse(snapshot=self.snapshot)


@dataclass
class Upstream:
    provider: FakeCapabilityProvider
    health: health_aio.HealthServicer
    address: str
    metering: FakeMeteringQuery
    audit: FakeAuditQuery
    server: grpc.aio.Server


@dataclass
class Gateway:
    server: GatewayServer
    client: httpx.AsyncClient


async def open_gateway(
    upstream_address: str,
    *,
    settings: GatewaySettings | None = None,
    bindings: Sequence[HttpBinding] | None = None,
    tracer_provider: TracerProvider | None = None,
    metrics_registry: CollectorRegistry | None = None,
    upstream_for: UpstreamResolver | None = None,
) -> Gateway:
    """The gateway on 127.0.0.1, routing every service to `upstream_address`
    unless `upstream_for` says otherwise."""
    server = GatewayServer(
        settings or GatewaySettings(port=0),
        host="127.0.0.1",
        upstream_for=upstream_for or (lambda service: upstream_address),
        bindings=bindings,
        tracer_provider=tracer_provider,
        metrics_registry=metrics_registry,
    )
    await server.start()
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30.0)
    return Gateway(server, client)


async def close_gateway(gateway: Gateway) -> None:
    await gateway.client.aclose()
    await gateway.server.stop()


@asynccontextmanager
async def serving_upstream(*, health: bool = True) -> AsyncIterator[Upstream]:
    """Every routed service (and, if asked, the health service) on 127.0.0.1, port 0."""
    server = grpc.aio.server()
    provider = FakeCapabilityProvider()
    capabilities_pb2_grpc.add_CapabilityProviderServicer_to_server(provider, server)
    metering, audit = add_query_fakes(server)
    health_servicer = health_aio.HealthServicer()
    if health:
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    for service in ROUTED_SERVICES:
        await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    try:
        yield Upstream(provider, health_servicer, f"127.0.0.1:{port}", metering, audit, server)
    finally:
        await server.stop(None)
