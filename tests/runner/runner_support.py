"""The whole execute path on loopback, for the runner tests.

A real HostService (install registry, tokens, ContextService) on a GrpcServer,
the registry fake (`registry_fake`), real metering and audit sink servers
(`SinkLog`s), the runner itself on a GrpcServer with a `ScriptedExecutor`, a
gRPC handler (`EchoHandler`) and the gateway over uvicorn, reached with real
HTTP. Callers authenticate with the runner's tokens below: one per tenant,
one without a tenant, one without the role.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from host_support import ADMIN_TOKEN
from prometheus_client import CollectorRegistry
from real_host import ISSUER_TOKEN, RealHost, serve_real_host

from extplane.gateway import GatewayServer, GatewaySettings
from extplane.runner.config import RunnerSettings
from extplane.runner.service import HANDLER_SERVICE, RunnerService
from extplane.runtime import GrpcServer
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane_client import InstallsClient
from extplane_protos.alga.extension.v1 import handler_pb2, handler_pb2_grpc, types_pb2
from tests.adapter.sinks import WAIT_S, SinkLog, serve_audit, serve_metering
from tests.runner.handlers import EchoHandler, ScriptedExecutor, serve_handler
from tests.runner.registry_fake import FakeExtensionRegistry, serve_registry

ACME_TOKEN = "runner-caller-acme-0123456789"
GLOBEX_TOKEN = "runner-caller-globex-012345678"
NO_TENANT_TOKEN = "runner-caller-no-tenant-01234"
WRONG_ROLE_TOKEN = "runner-caller-wrong-role-0123"
DISPATCH_TOKEN = "runner-caller-dispatcher-0123"
CALLERS = {
    "tokens": [
        {
            "name": "acme-app",
            "token": ACME_TOKEN,
            "roles": ["extensions.execute"],
            "tenant": "acme",
        },
        {
            "name": "globex-app",
            "token": GLOBEX_TOKEN,
            "roles": ["extensions.execute"],
            "tenant": "globex",
        },
        {"name": "tenantless", "token": NO_TENANT_TOKEN, "roles": ["extensions.execute"]},
        {"name": "ui-proxy", "token": DISPATCH_TOKEN, "roles": ["extensions.dispatch"]},
        {
            "name": "reader",
            "token": WRONG_ROLE_TOKEN,
            "roles": ["metering.reader"],
            "tenant": "acme",
        },
    ]
}
GRANTS = ("cap:context.read",)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@dataclass
class World:
    host: RealHost
    registry: FakeExtensionRegistry
    handler: EchoHandler
    handler_address: str
    executor: ScriptedExecutor
    runner: RunnerService
    runner_address: str
    channel: grpc.aio.Channel
    http: httpx.AsyncClient
    metering: SinkLog
    audit: SinkLog
    installs: list[tuple[str, str]] = field(default_factory=list)

    async def install(
        self,
        tenant: str,
        install_id: str,
        *,
        extension_id: str = "com.example.echo",
        version: str = "1.0.0",
        grants: Sequence[str] = GRANTS,
    ) -> None:
        async with InstallsClient(self.host.address, token=ADMIN_TOKEN) as admin:
            await admin.register_install(
                tenant=tenant,
                install_id=install_id,
                extension_id=extension_id,
                version=version,
                granted_capabilities=grants,
            )

    async def disable(self, tenant: str, install_id: str) -> None:
        async with InstallsClient(self.host.address, token=ADMIN_TOKEN) as admin:
            await admin.disable_install(tenant=tenant, install_id=install_id)

    async def execute(
        self,
        install_id: str | None,
        *,
        token: str | None = ACME_TOKEN,
        context: types_pb2.ContextData | None = None,
        http: types_pb2.HttpRequest | None = None,
        metadata: Sequence[tuple[str, str]] = (),
    ) -> tuple[handler_pb2.ExecuteResponse, dict[str, str]]:
        """The response and the answer's initial metadata."""
        request = handler_pb2.ExecuteRequest(
            context=context if context is not None else types_pb2.ContextData(),
            http=http if http is not None else types_pb2.HttpRequest(method="GET", url="/"),
        )
        if install_id is not None:
            request.context.install_id = install_id
        stub = handler_pb2_grpc.HandlerServiceStub(self.channel)
        call = stub.Execute(
            request, metadata=(*(bearer(token) if token else ()), *metadata), timeout=WAIT_S
        )
        response: handler_pb2.ExecuteResponse = await call
        initial = {k: str(v) for k, v in (await call.initial_metadata() or ())}
        return response, initial

    async def delivered(self) -> None:
        """Every metering and audit event the runner queued, delivered."""
        for sink in (self.runner.metering_sink, self.runner.audit_sink):
            assert await asyncio.to_thread(sink.flush, WAIT_S)


def body_json(response: handler_pb2.ExecuteResponse) -> Any:
    return json.loads(response.body)


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "no rich status"
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    raise AssertionError("no ErrorInfo detail")


def detail_of(error: grpc.aio.AioRpcError, kind: type[Message]) -> Any:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    for detail in status.details:
        found = kind()
        if detail.Unpack(found):
            return found
    raise AssertionError(f"no {kind.__name__} detail")


@asynccontextmanager
async def serve_world(tmp_path: Path, **runner_settings: Any) -> AsyncIterator[World]:
    async with AsyncExitStack() as stack:
        metering, audit = SinkLog(), SinkLog()
        metering_address = stack.enter_context(serve_metering(metering))
        audit_address = stack.enter_context(serve_audit(audit))
        host = await stack.enter_async_context(
            serve_real_host(f"sqlite:{tmp_path / 'host.db'}", tmp_path / "host-data")
        )
        registry = FakeExtensionRegistry(token=ISSUER_TOKEN)
        registry_address = await stack.enter_async_context(serve_registry(registry))
        handler = EchoHandler()
        handler_address = await stack.enter_async_context(serve_handler(handler))
        registry.add_grpc("com.example.echo", "1.0.0", handler_address)
        executor = ScriptedExecutor()
        settings = RunnerSettings.model_validate(
            {
                "port": 0,
                "host_address": host.address,
                "registry_address": registry_address,
                "host_token": ISSUER_TOKEN,
                "metering_address": metering_address,
                "audit_address": audit_address,
                **runner_settings,
            }
        )
        kit = ServiceKit.for_directory(
            tmp_path / "runner-data",
            auth=AuthSettings.model_validate(CALLERS),
            registry=CollectorRegistry(),
        )
        runner = RunnerService(settings, kit, executor=executor)
        server = GrpcServer(runner, host="127.0.0.1", port=0, shutdown_grace_s=0)
        await server.start()
        stack.push_async_callback(server.stop, 0)
        channel = await stack.enter_async_context(grpc.aio.insecure_channel(server.address))
        gateway = GatewayServer(
            GatewaySettings(port=0),
            host="127.0.0.1",
            upstream_for=lambda service: {HANDLER_SERVICE: server.address}[service],
            shutdown_grace_s=0,
            metrics_registry=CollectorRegistry(),
        )
        await gateway.start()
        stack.push_async_callback(gateway.stop)
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}", timeout=WAIT_S)
        )
        yield World(
            host=host,
            registry=registry,
            handler=handler,
            handler_address=handler_address,
            executor=executor,
            runner=runner,
            runner_address=server.address,
            channel=channel,
            http=http,
            metering=metering,
            audit=audit,
        )
