"""The host service as deployed, for tests that must reach the real providers:
HostService (registry, enforcement, every provider it serves) on a GrpcServer
on 127.0.0.1, over the store `database_url` names; installs registered and
their tokens issued through the registry, as a runner does.

`audit`: a SinkLog of a real audit sink service the host delivers its events
to (`audit_address`), so a denial is checked where an operator would see it.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from host_support import ADMIN_TOKEN, AUTH, token_metadata
from prometheus_client import CollectorRegistry
from ui_proxy_support import RecordingUpstreamDialer

from extplane.host.config import HostSettings
from extplane.host.egress import EgressGuard
from extplane.host.egress.testing import LoopbackOnlyDialer, StaticResolver
from extplane.host.service import HostService
from extplane.runtime import GrpcServer
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane_client import InstallsClient
from extplane_protos.extplane.admin.v1 import installs_pb2
from tests.adapter.sinks import WAIT_S, SinkLog

ISSUER_TOKEN = "host-issuer-token-0123456789abc"
ISSUING_AUTH = {
    "tokens": [
        *AUTH["tokens"],
        {"name": "runner", "token": ISSUER_TOKEN, "roles": ["installs.issuer"]},
    ]
}
Metadata = tuple[tuple[str, str], ...]


@dataclass
class RealHost:
    service: HostService
    address: str
    channel: grpc.aio.Channel
    audit: SinkLog | None = None
    # What the ui-proxy dials through: loopback IP literals only.
    dialer: RecordingUpstreamDialer | None = None
    # The kit's Prometheus registry: the host's metrics.
    registry: CollectorRegistry | None = None

    async def install(
        self,
        tenant: str,
        install_id: str,
        capabilities: Sequence[str],
        *,
        limits: installs_pb2.InstallLimits | None = None,
        user: installs_pb2.InstallTokenUser | None = None,
        request_id: str = "",
        ui_proxy_routes: Sequence[installs_pb2.UiProxyRoute] = (),
        egress_allowlist: Sequence[str] = (),
    ) -> Metadata:
        """Register an install and return the metadata carrying a fresh token of it."""
        async with InstallsClient(self.address, token=ADMIN_TOKEN) as admin:
            await admin.register_install(
                tenant=tenant,
                install_id=install_id,
                extension_id=f"com.example.{install_id}",
                version="1.0.0",
                granted_capabilities=capabilities,
                egress_allowlist=egress_allowlist,
                limits=limits,
                ui_proxy_routes=ui_proxy_routes,
            )
        return await self.token(tenant, install_id, user=user, request_id=request_id)

    async def token(
        self,
        tenant: str,
        install_id: str,
        *,
        user: installs_pb2.InstallTokenUser | None = None,
        request_id: str = "",
    ) -> Metadata:
        async with InstallsClient(self.address, token=ISSUER_TOKEN) as issuer:
            issued = await issuer.issue_install_token(
                tenant=tenant, install_id=install_id, user=user, request_id=request_id
            )
        return token_metadata(issued.token)

    async def audit_delivered(self) -> list[Any]:
        """Every event the audit service holds once the host's queue is delivered."""
        assert self.audit is not None, "serve_real_host(audit=...) to see audit events"
        sink = self.service.audit_sink
        assert sink is not None
        assert await asyncio.to_thread(sink.flush, WAIT_S)
        return list(self.audit.stored)


def served_service_names() -> frozenset[str]:
    """The services HostService serves, asked of one that is never started."""
    with tempfile.TemporaryDirectory() as directory:
        kit = ServiceKit.for_directory(
            Path(directory),
            auth=AuthSettings.model_validate(ISSUING_AUTH),
            registry=CollectorRegistry(),
        )
        settings = HostSettings(port=0, database_url=f"sqlite:{Path(directory) / 'host.db'}")
        return frozenset(HostService(settings, kit).service_names)


@asynccontextmanager
async def serve_real_host(
    database_url: str,
    data_dir: Path,
    *,
    audit_address: str | None = None,
    audit: SinkLog | None = None,
    enabled_clock: Callable[[], float] | None = None,
    egress_guard: EgressGuard | None = None,
    **settings: Any,
) -> AsyncIterator[RealHost]:
    """A channel to the real HostService; `audit_address` where its events go.
    `egress_guard`: the http.fetch guard (default: one that resolves no name and
    dials nothing outside loopback, so no test reaches the network by mistake).
    Its ui-proxy dials through a `RecordingUpstreamDialer` (`RealHost.dialer`): the
    egress guard's dialer over the same loopback-only connections."""
    kit = ServiceKit.for_directory(
        data_dir, auth=AuthSettings.model_validate(ISSUING_AUTH), registry=CollectorRegistry()
    )
    host_settings = HostSettings(
        port=0, database_url=database_url, audit_address=audit_address, **settings
    )
    dialer = RecordingUpstreamDialer()
    guard = egress_guard or EgressGuard(
        resolver=StaticResolver(), network_backend=LoopbackOnlyDialer()
    )
    service = HostService(
        host_settings,
        kit,
        enabled_clock=enabled_clock or time.monotonic,
        egress_guard=guard,
        ui_proxy_dialer=dialer,
    )
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
        async with grpc.aio.insecure_channel(server.address) as channel:
            yield RealHost(service, server.address, channel, audit, dialer, kit.registry)
    finally:
        await server.stop(0)
        await dialer.aclose()
