"""The host service as deployed, for the secrets tests: registry, enforcement,
SecretsService and SecretsAdminService on one real server, behind the kit's
observing interceptor (spans into an in-memory exporter, metrics into the
kit's registry), with a clock the tests move and the audit events recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from host_support import ADMIN_TOKEN, AUTH, AuditLog, token_metadata
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

from extplane.host.config import HostSettings
from extplane.host.service import HostService
from extplane.runtime import Metrics
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane.runtime.observing import ObservingInterceptor
from extplane.runtime.rpc_log import RpcLog
from extplane.runtime.server_spans import ServerSpans
from extplane_client import InstallsClient, alga_errors
from extplane_client.secrets_admin import SecretsAdminClient
from extplane_protos.alga.extension.v1 import secrets_pb2 as pb
from extplane_protos.alga.extension.v1 import secrets_pb2_grpc

ISSUER_TOKEN = "secrets-issuer-token-0123456789"
SECRETS_AUTH = {
    "tokens": [
        *AUTH["tokens"],
        {"name": "runner", "token": ISSUER_TOKEN, "roles": ["installs.issuer"]},
    ]
}
GET = "cap:secrets.get"
START_NS = 1_800_000_000 * 10**9
SAMPLED = (("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),)


class Clock:
    def __init__(self) -> None:
        self.now_ns = START_NS

    def __call__(self) -> int:
        return self.now_ns

    def advance(self, seconds: float) -> None:
        self.now_ns += int(seconds * 10**9)


class Ticks:
    """A monotonic clock in seconds the tests move (the key ring's look-again)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Host:
    service: HostService
    address: str
    channel: grpc.aio.Channel
    clock: Clock
    key_clock: Ticks
    audit: AuditLog
    spans: InMemorySpanExporter
    kit: ServiceKit

    async def install(
        self, tenant: str, install_id: str, capabilities: tuple[str, ...] = (GET,)
    ) -> tuple[tuple[str, str], ...]:
        """Register an install; the metadata carrying a fresh token of it."""
        async with InstallsClient(self.address, token=ADMIN_TOKEN) as admin:
            await admin.register_install(
                tenant=tenant,
                install_id=install_id,
                extension_id="com.example.secrets",
                version="1.0.0",
                granted_capabilities=capabilities,
            )
        async with InstallsClient(self.address, token=ISSUER_TOKEN) as issuer:
            issued = await issuer.issue_install_token(tenant=tenant, install_id=install_id)
        return (*token_metadata(issued.token), *SAMPLED)

    def admin(self, token: str | None = ADMIN_TOKEN) -> SecretsAdminClient:
        return SecretsAdminClient(self.channel, token=token)

    def stub(self) -> secrets_pb2_grpc.SecretsServiceStub:
        return secrets_pb2_grpc.SecretsServiceStub(self.channel)

    async def get(self, md: Any, key: str) -> str:
        reply = await self.stub().Get(pb.SecretsServiceGetRequest(key=key), metadata=md)
        return reply.value

    async def keys(self, md: Any) -> list[str]:
        reply = await self.stub().List(pb.SecretsServiceListRequest(), metadata=md)
        return list(reply.keys)


@asynccontextmanager
async def serve(database_url: str, tmp_path: Path) -> AsyncIterator[Host]:
    clock = Clock()
    kit = ServiceKit.for_directory(
        tmp_path / "data",
        auth=AuthSettings.model_validate(SECRETS_AUTH),
        registry=CollectorRegistry(),
        clock_ns=clock,
    )
    key_clock = Ticks()
    service = HostService(HostSettings(port=0, database_url=database_url), kit, key_clock=key_clock)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    observing = ObservingInterceptor([Metrics(kit.registry), RpcLog()], spans=ServerSpans(provider))
    server = grpc.aio.server(interceptors=[observing, *service.interceptors])
    service.add_to_server(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await service.start()
    audit = AuditLog()
    service.audit_sink = audit
    address = f"127.0.0.1:{port}"
    channel = grpc.aio.insecure_channel(address)
    try:
        yield Host(service, address, channel, clock, key_clock, audit, exporter, kit)
    finally:
        await channel.close()
        await server.stop(None)
        await service.stop()
        provider.shutdown()


async def failure(call: Coroutine[Any, Any, Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


async def variant(call: Coroutine[Any, Any, Any]) -> str:
    error = await failure(call)
    found = alga_errors.variant_from_error(error)
    assert found is not None, error
    return found.name
