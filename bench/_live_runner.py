"""The runner as deployed, for the Execute benchmarks, all on 127.0.0.1 in this loop:
the host service (install registry, extension registry, install tokens, every
provider) on SQLite, one no-op component uploaded and installed; runners
(`RunnerService` with its default executor, the worker pool) on `GrpcServer`s;
the gateway in front of one of them.

    async with live_host(work, component) as host:
        async with live_runner(work, host, workers=2) as runner:
            ...

Runners share one cache directory (`build/bench-runner-cache`, gitignored), so
the component is compiled once across runs and every later pool loads the
artifact from disk, as a second runner process would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from extplane.gateway import GatewayServer, GatewaySettings
from extplane.host.config import HostSettings
from extplane.host.service import HostService
from extplane.runner.config import RunnerSettings
from extplane.runner.service import HANDLER_SERVICE, RunnerService
from extplane.runtime import GrpcServer
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane_client import ExtensionsClient, InstallsClient
from extplane_client._rpc import bearer_metadata

REPO = Path(__file__).resolve().parents[1]
RUNNER_CACHE = REPO / "build" / "bench-runner-cache"
# Bench-only bearer tokens, on loopback servers that live as long as the run.
ADMIN_TOKEN = "bench-runner-admin-0123456789ab"
ISSUER_TOKEN = "bench-runner-issuer-0123456789a"
CALLER_TOKEN = "bench-runner-caller-0123456789a"
_HOST_AUTH = {
    "tokens": [
        {"name": "bench-admin", "token": ADMIN_TOKEN, "roles": ["installs.admin"]},
        {"name": "bench-runner", "token": ISSUER_TOKEN, "roles": ["installs.issuer"]},
    ]
}
_RUNNER_AUTH = {
    "tokens": [
        {
            "name": "bench-app",
            "token": CALLER_TOKEN,
            "roles": ["extensions.execute"],
            "tenant": "bench-tenant",
        }
    ]
}
TENANT = "bench-tenant"
INSTALL = "bench-noop"
EXTENSION = "com.example.bench-noop"
VERSION = "1.0.0"
CALLER_METADATA = bearer_metadata(CALLER_TOKEN)


@dataclass(frozen=True)
class Host:
    address: str


@contextlib.asynccontextmanager
async def live_host(work: Path, component: Path) -> AsyncIterator[Host]:
    """The host service with `component` uploaded and installed as INSTALL."""
    kit = ServiceKit.for_directory(
        work / "host-data",
        auth=AuthSettings.model_validate(_HOST_AUTH),
        registry=CollectorRegistry(),
    )
    service = HostService(HostSettings(port=0, database_url=f"sqlite:{work / 'host.db'}"), kit)
    server = GrpcServer(
        service,
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=0,
        interceptors=service.interceptors,
        max_receive_message_bytes=service.max_receive_message_bytes,
    )
    await server.start()
    try:
        async with ExtensionsClient(server.address, token=ADMIN_TOKEN) as extensions:
            # The registry checks (compiles) the component: seconds for 18 MB.
            await extensions.upload_extension_version(
                extension_id=EXTENSION,
                version=VERSION,
                component=await asyncio.to_thread(component.read_bytes),
            )
        async with InstallsClient(server.address, token=ADMIN_TOKEN) as admin:
            await admin.register_install(
                tenant=TENANT, install_id=INSTALL, extension_id=EXTENSION, version=VERSION
            )
        yield Host(server.address)
    finally:
        await server.stop(0)


@dataclass(frozen=True)
class Runner:
    service: RunnerService
    address: str


@contextlib.asynccontextmanager
async def live_runner(
    work: Path, host: Host, *, workers: int, install_cache_ttl_s: float | None = None
) -> AsyncIterator[Runner]:
    """A runner with `workers` worker processes, its default executor; the install
    cache at its default TTL unless `install_cache_ttl_s` is given."""
    extra = {} if install_cache_ttl_s is None else {"install_cache_ttl_s": install_cache_ttl_s}
    settings = RunnerSettings.model_validate(
        {
            "port": 0,
            "host_address": host.address,
            "host_token": ISSUER_TOKEN,
            "cache_dir": str(RUNNER_CACHE),
            "workers": workers,
            **extra,
        }
    )
    kit = ServiceKit.for_directory(
        work / f"runner-{workers}-{install_cache_ttl_s}",
        auth=AuthSettings.model_validate(_RUNNER_AUTH),
        registry=CollectorRegistry(),
    )
    runner = RunnerService(settings, kit)
    server = GrpcServer(runner, host="127.0.0.1", port=0, shutdown_grace_s=0)
    await server.start()
    try:
        yield Runner(runner, server.address)
    finally:
        await server.stop(0)


@contextlib.asynccontextmanager
async def gateway_to(runner: Runner) -> AsyncIterator[str]:
    """The gateway with `runner` as its HandlerService upstream; yields its base URL."""
    gateway = GatewayServer(
        GatewaySettings(port=0),
        host="127.0.0.1",
        upstream_for=lambda service: {HANDLER_SERVICE: runner.address}[service],
        shutdown_grace_s=0,
        metrics_registry=CollectorRegistry(),
    )
    await gateway.start()
    try:
        yield f"http://127.0.0.1:{gateway.port}"
    finally:
        await gateway.stop()
