"""The runner as deployed, for the end-to-end tests: the real host (install
registry, extension registry, every provider), the runner with its default
executor — the worker pool running real components — and the gateway, reached
with real HTTP. Components are the WebAssembly host tests' guests, built from
source once per source hash (tests/runner/wasm/guest_build.py).

The runner's cache (components and compiled artifacts) is `build/test-runner-cache`
(gitignored): a guest is compiled once across tests and sessions, and every
later pool loads the artifact from disk, as a second runner process would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
from host_support import ADMIN_TOKEN
from prometheus_client import CollectorRegistry
from real_host import ISSUER_TOKEN, RealHost, serve_real_host

from extplane.gateway import GatewayServer, GatewaySettings
from extplane.runner.config import RunnerSettings
from extplane.runner.pool_executor import PoolExecutor
from extplane.runner.service import HANDLER_SERVICE, RunnerService
from extplane.runtime import GrpcServer
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane_client import InstallsClient
from extplane_protos.extplane.admin.v1 import extensions_pb2, extensions_pb2_grpc
from tests.adapter.sinks import WAIT_S
from tests.runner.runner_support import CALLERS, bearer
from tests.runner.wasm.guest_build import Guest

ROOT = Path(__file__).resolve().parents[2]
RUNNER_CACHE = ROOT / "build" / "test-runner-cache"


@dataclass
class Live:
    host: RealHost
    runner: RunnerService
    runner_address: str
    channel: grpc.aio.Channel
    http: httpx.AsyncClient

    @property
    def pool_executor(self) -> PoolExecutor:
        executor = self.runner.executor
        assert isinstance(executor, PoolExecutor)
        return executor

    async def upload(
        self,
        extension_id: str,
        guest: Guest,
        *,
        version: str = "1.0.0",
        capabilities: Sequence[str] = (),
        timeout_ms: int = 0,
    ) -> extensions_pb2.ExtensionVersion:
        stub = extensions_pb2_grpc.ExtensionRegistryServiceStub(self.host.channel)
        uploaded = await stub.UploadExtensionVersion(
            extensions_pb2.UploadExtensionVersionRequest(
                extension_id=extension_id,
                version=version,
                declared_capabilities=capabilities,
                limits=extensions_pb2.ExecutionLimitsSpec(timeout_ms=timeout_ms),
                component=guest.path.read_bytes(),
            ),
            metadata=bearer(ADMIN_TOKEN),
            # The registry compiles a component to check it: seconds, more when loaded.
            timeout=300,
        )
        version_record: extensions_pb2.ExtensionVersion = uploaded.extension_version
        return version_record

    async def upload_grpc(
        self, extension_id: str, address: str, *, version: str = "1.0.0"
    ) -> extensions_pb2.ExtensionVersion:
        """A polyglot version: a gRPC HandlerService at `address`."""
        stub = extensions_pb2_grpc.ExtensionRegistryServiceStub(self.host.channel)
        uploaded = await stub.UploadExtensionVersion(
            extensions_pb2.UploadExtensionVersionRequest(
                extension_id=extension_id, version=version, grpc_address=address
            ),
            metadata=bearer(ADMIN_TOKEN),
            timeout=WAIT_S,
        )
        version_record: extensions_pb2.ExtensionVersion = uploaded.extension_version
        return version_record

    async def install(
        self,
        tenant: str,
        install_id: str,
        extension_id: str,
        grants: Sequence[str],
        *,
        version: str = "1.0.0",
    ) -> None:
        async with InstallsClient(self.host.address, token=ADMIN_TOKEN) as admin:
            await admin.register_install(
                tenant=tenant,
                install_id=install_id,
                extension_id=extension_id,
                version=version,
                granted_capabilities=grants,
            )


@asynccontextmanager
async def serve_live(tmp_path: Path, **runner_settings: Any) -> AsyncIterator[Live]:
    async with AsyncExitStack() as stack:
        host = await stack.enter_async_context(
            serve_real_host(f"sqlite:{tmp_path / 'host.db'}", tmp_path / "host-data")
        )
        settings = RunnerSettings.model_validate(
            {
                "port": 0,
                "host_address": host.address,
                "host_token": ISSUER_TOKEN,
                "cache_dir": str(RUNNER_CACHE),
                **runner_settings,
            }
        )
        kit = ServiceKit.for_directory(
            tmp_path / "runner-data",
            auth=AuthSettings.model_validate(CALLERS),
            registry=CollectorRegistry(),
        )
        runner = RunnerService(settings, kit)
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
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.port}", timeout=120)
        )
        yield Live(host, runner, server.address, channel, http)
