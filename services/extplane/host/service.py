"""The deployable host service: for now, the install registry (the ground the host
providers will stand on), on the host port."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc

from extplane.host.config import HostSettings
from extplane.host.installs.changes import ChangeLog
from extplane.host.installs.registry import InstallRegistry
from extplane.host.installs.servicer import InstallRegistryServicer
from extplane.host.installs.store import InstallStore
from extplane.host.installs.store.postgres import PostgresInstallStore
from extplane.host.installs.store.sqlite import SqliteInstallStore
from extplane.runtime import ServiceKit, Serving
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.storage import PostgresStore, open_store
from extplane_client import AuditSink, GrpcAuditSink, NoopAuditSink
from extplane_protos.extplane.admin.v1 import installs_pb2, installs_pb2_grpc
from extplane_protos.orloj.extensions.v1 import audit_pb2

INSTALL_REGISTRY: str = installs_pb2.DESCRIPTOR.services_by_name["InstallRegistryService"].full_name
AUDIT_SINK: str = audit_pb2.DESCRIPTOR.services_by_name["AuditSink"].full_name
DATABASE_FILE = "host.db"
# How long stop() waits for queued audit events to reach the audit service.
AUDIT_FLUSH_S = 5.0

_logger = logging.getLogger(__name__)


def install_store(settings: HostSettings, data_dir: Path) -> InstallStore:
    """The store `database_url` names (unset: `host.db` in the data dir); not yet opened."""
    sqlite: Callable[[Path], InstallStore] = SqliteInstallStore
    postgres: Callable[[str], InstallStore] = PostgresInstallStore
    return open_store(
        settings.database_url, data_dir, DATABASE_FILE, sqlite=sqlite, postgres=postgres
    )


class HostService(AsyncLifecycle):
    """`extplane.admin.v1.InstallRegistryService`, as a `GrpcServiceDefinition`.

    `start()` opens the store (running its migrations) and the audit sink of the
    change events, then serves; `stop()` stops serving, delivers queued events
    (at most AUDIT_FLUSH_S), then closes the store.

    `audit_in_process`: the deployment runs the audit service in this process, so
    change events go there when no `audit_address` is configured.
    """

    def __init__(
        self, settings: HostSettings, kit: ServiceKit, *, audit_in_process: bool = False
    ) -> None:
        self.settings = settings
        self._kit = kit
        self._audit_in_process = audit_in_process
        self.store = install_store(settings, kit.data_dir)
        self.serving: Serving[InstallRegistry] = Serving(self.name)
        self._registry = InstallRegistryServicer(self.serving, kit)
        self.audit_sink: AuditSink | None = None

    @property
    def name(self) -> str:
        return "host"

    @property
    def service_names(self) -> Sequence[str]:
        return (INSTALL_REGISTRY,)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        installs_pb2_grpc.add_InstallRegistryServiceServicer_to_server(self._registry, server)

    def audit_target(self) -> str | None:
        """Where change events go: the configured address, else the audit service of
        this process, else nowhere."""
        if self.settings.audit_address:
            return self.settings.audit_address
        if self._audit_in_process and self._kit.upstream_for is not None:
            return self._kit.upstream_for(AUDIT_SINK)
        return None

    def _audit_sink(self) -> AuditSink:
        target = self.audit_target()
        if target is None:
            _logger.info("no audit service configured: install changes are not audited")
            return NoopAuditSink()
        token = self.settings.audit_token
        if token is None and self._kit.authorizer.has_tokens:
            _logger.warning(
                "host_providers.audit_token is unset while auth tokens are configured: the "
                "audit service at %s will refuse the install registry's change events",
                target,
            )
        return GrpcAuditSink(
            target,
            token=token.get_secret_value() if token is not None else None,
            tls=self._kit.client_tls,
            registry=self._kit.registry,
            name="host_audit",
        )

    async def start(self) -> None:
        if self.serving.is_open:
            return
        self._kit.load_page_tokens(shared_store=isinstance(self.store, PostgresStore))
        await self.store.open()
        self.audit_sink = self._audit_sink()
        changes = ChangeLog(self.audit_sink, self._kit.clock_ns)
        self.serving.open(InstallRegistry(self.store, changes, self._kit.clock_ns))
        _logger.info("install store %s ready", self.store.description)

    async def stop(self) -> None:
        if self.serving.close() is None:
            return
        sink, self.audit_sink = self.audit_sink, None
        if sink is not None:
            await asyncio.to_thread(sink.close, AUDIT_FLUSH_S)
        await self.store.close()
