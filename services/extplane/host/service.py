"""The deployable host service: the install registry and the host providers
(the Alga interfaces) on one server, the host port.

The registry issues install tokens over a key ring (`token_keys`); the
providers verify them with the same keys, and `CapabilityEnforcement` (the
server's interceptor, `interceptors`) checks each host RPC's capability.
While serving, a background task re-reads which installs are disabled and
the key ring every `enabled_refresh_s`.

Around the registry, the host is composed of `HostPart`s (`parts`): the
providers, storage, the extension logs, secrets, catalogs and the extension
registry, each served,
started and stopped the same way, in `HostService.parts` order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc

from extplane.errors import NotServingError
from extplane.host.catalogs.part import CATALOG_STORE, CatalogsPart
from extplane.host.config import HostSettings
from extplane.host.database import HostStore
from extplane.host.definition import HostProviders
from extplane.host.egress.guard import EgressGuard
from extplane.host.egress.part import EgressPart
from extplane.host.enabled import EnabledInstalls, disabled_in
from extplane.host.enforcement import CapabilityEnforcement
from extplane.host.extension_logs.part import LogsPart
from extplane.host.extensions.part import (
    EXTENSION_STORE,
    MAX_UPLOAD_MESSAGE_BYTES,
    ExtensionsPart,
)
from extplane.host.installs.changes import ChangeLog
from extplane.host.installs.model import DEFAULT_LOG_RECORDS_PER_MINUTE
from extplane.host.installs.registry import InstallRegistry
from extplane.host.installs.servicer import InstallRegistryServicer
from extplane.host.installs.store import InstallStore
from extplane.host.installs.store.postgres import PostgresInstallStore
from extplane.host.installs.store.sqlite import SqliteInstallStore
from extplane.host.installs.tokens import InstallTokens
from extplane.host.issuer import InstallTokenIssuer
from extplane.host.parts import HostPart, PartContext
from extplane.host.secrets.part import SECRETS_STORE, SecretsPart
from extplane.host.storage.part import StoragePart
from extplane.host.token_keys import TokenKeys, key_dir, open_ring
from extplane.host.ui_proxy.dialer import UpstreamDialer
from extplane.host.ui_proxy.part import UiProxyPart
from extplane.host.verifier import InstallTokenVerifier
from extplane.keys import KeyRing
from extplane.runtime import ServiceKit, Serving
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.storage import PostgresStore
from extplane_client import AuditSink, GrpcAuditSink, NoopAuditSink
from extplane_protos.extplane.admin.v1 import installs_pb2, installs_pb2_grpc
from extplane_protos.orloj.extensions.v1 import audit_pb2

INSTALL_REGISTRY: str = installs_pb2.DESCRIPTOR.services_by_name["InstallRegistryService"].full_name
AUDIT_SINK: str = audit_pb2.DESCRIPTOR.services_by_name["AuditSink"].full_name
# How long stop() waits for queued audit events to reach the audit service.
AUDIT_FLUSH_S = 5.0

INSTALL_STORE = HostStore[InstallStore](SqliteInstallStore, PostgresInstallStore)

_logger = logging.getLogger(__name__)


def install_store(settings: HostSettings, data_dir: Path) -> InstallStore:
    """The store `database_url` names (unset: `host.db` in the data dir); not yet opened."""
    return INSTALL_STORE.at(settings.database_url, data_dir)


class _SinkOfService:
    """The service's audit sink while it runs, for what is made before it (the
    interceptor, the parts' audit logs): recorded after stop, an event is dropped."""

    def __init__(self, service: HostService) -> None:
        self._service = service

    def record(self, event: audit_pb2.AuditEvent) -> None:
        sink = self._service.audit_sink
        if sink is not None:
            sink.record(event)

    def flush(self, timeout: float | None = 10.0) -> bool:
        return True

    def close(self, timeout: float | None = 10.0) -> bool:
        return True


class HostService(AsyncLifecycle):
    """`extplane.admin.v1.InstallRegistryService` and the host providers, as a
    `GrpcServiceDefinition`; serve it with `interceptors=service.interceptors`.

    `start()` opens the store (running its migrations), the token key ring
    (creating its first key when empty) and the audit sink of the change and
    denial events, starts the parts in order, then serves; `stop()` stops
    serving, stops the parts in reverse order, delivers queued events (at most
    AUDIT_FLUSH_S), then closes the store.

    `audit_in_process`: the deployment runs the audit service in this process, so
    change events go there when no `audit_address` is configured.
    `enabled_clock` ages the disabled-installs snapshot, `key_clock` the secret
    key ring's last look at its directory (tests move them).
    `ui_proxy_dialer` dials the ui-proxy's HTTP upstreams (`UiProxyPart`; its
    owner closes it); None: the egress guard's dialer (`EgressDialer`), so a
    route's upstream passes the same address checks as `http.fetch`. `egress_guard`
    replaces the `http.fetch` guard built from the settings (tests give one
    with their resolver and a loopback-only dialer).
    """

    def __init__(
        self,
        settings: HostSettings,
        kit: ServiceKit,
        *,
        audit_in_process: bool = False,
        enabled_clock: Callable[[], float] = time.monotonic,
        key_clock: Callable[[], float] = time.monotonic,
        ui_proxy_dialer: UpstreamDialer | None = None,
        egress_guard: EgressGuard | None = None,
    ) -> None:
        self.settings = settings
        self._kit = kit
        self._audit_in_process = audit_in_process
        self.store = install_store(settings, kit.data_dir)
        self.serving: Serving[InstallRegistry] = Serving(self.name)
        self.enabled = EnabledInstalls(
            disabled_in(self.store), refresh_s=settings.enabled_refresh_s, clock=enabled_clock
        )
        # Keys arrive at start(), when the ring is read; until then nothing verifies.
        self.verifier = InstallTokenVerifier((), is_enabled=self.enabled.is_enabled)
        self.token_keys: TokenKeys | None = None
        issuer = InstallTokenIssuer(self._ring, ttl_s=settings.token_ttl_s)
        self._registry = InstallRegistryServicer(
            self.serving, kit, InstallTokens(issuer, self._ring)
        )
        self.logs = LogsPart(self._log_rate, kit)
        self.secrets = SecretsPart(
            kit=kit,
            installs=self.store,
            store=SECRETS_STORE.at(settings.database_url, kit.data_dir),
            key_dir=settings.secret_key_dir,
            key_clock=key_clock,
        )
        self.catalogs = CatalogsPart(CATALOG_STORE.at(settings.database_url, kit.data_dir), kit)
        self.ui_proxy = UiProxyPart(
            kit=kit,
            settings=settings,
            installs=self.store,
            vault=lambda: self.secrets.serving.current,
            dialer=ui_proxy_dialer,
        )
        self.egress = EgressPart(self.store, settings.egress, kit, guard=egress_guard)
        self.extensions = ExtensionsPart(
            EXTENSION_STORE.at(settings.database_url, kit.data_dir), kit
        )
        # In start order; service_names follow it too.
        self.parts: tuple[HostPart, ...] = (
            HostProviders(),
            StoragePart(self.store),
            self.logs,
            self.secrets,
            self.catalogs,
            self.ui_proxy,  # after secrets: its routes may send one
            self.egress,
            self.extensions,
        )
        self._sink_while_serving = _SinkOfService(self)
        self.enforcement = CapabilityEnforcement(self.verifier, audit=self._sink_while_serving)
        self.audit_sink: AuditSink | None = None
        self._refresher: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return "host"

    @property
    def service_names(self) -> Sequence[str]:
        return (INSTALL_REGISTRY, *(name for part in self.parts for name in part.service_names))

    @property
    def max_receive_message_bytes(self) -> int:
        """The server must take an extension upload (a component of up to 64 MiB)."""
        return MAX_UPLOAD_MESSAGE_BYTES

    @property
    def interceptors(self) -> Sequence[grpc.aio.ServerInterceptor]:
        return (self.enforcement,)

    @property
    def token_key_dir(self) -> Path:
        return key_dir(self.settings.token_key_dir, self._kit.data_dir)

    def _ring(self) -> KeyRing:
        if self.token_keys is None:
            raise NotServingError("the host service is not serving")
        return self.token_keys.ring

    def add_to_server(self, server: grpc.aio.Server) -> None:
        installs_pb2_grpc.add_InstallRegistryServiceServicer_to_server(self._registry, server)
        for part in self.parts:
            part.add_to_server(server)

    async def _log_rate(self, tenant: str, install_id: str) -> int:
        """The install's records per minute; the default for one this registry
        does not hold (its token verified, so it still may log, at the default)."""
        install = await self.store.get(tenant, install_id)
        if install is None:
            return DEFAULT_LOG_RECORDS_PER_MINUTE
        return install.settings.limits.log_records_per_minute

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
            # Said in full: without it the audit log silently lacks every denial.
            _logger.warning(
                "host_providers.audit_token (EXTPLANE_HOST_PROVIDERS__AUDIT_TOKEN) is unset "
                "while auth tokens are configured: the audit service at %s will refuse every "
                "audit event of the host (install, secret and catalog changes, capability "
                "denials); set it to a token with the audit.writer role",
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
        ring = await asyncio.to_thread(open_ring, self.token_key_dir)
        await self.store.open()
        self.token_keys = TokenKeys(ring, self.verifier)
        await self.enabled.refresh()
        self.audit_sink = self._audit_sink()
        context = PartContext(kit=self._kit, audit=self._sink_while_serving)
        for part in self.parts:
            await part.start(context)
        changes = ChangeLog(self.audit_sink, self._kit.clock_ns)
        registry = InstallRegistry(
            self.store,
            changes,
            self._kit.clock_ns,
            on_enabled=lambda i: self.enabled.mark(i.tenant, i.install_id, i.enabled),
            version_rule=self.extensions.install_version_problem,
        )
        self.serving.open(registry)
        self._refresher = asyncio.create_task(self._refresh_forever())
        _logger.info(
            "install store %s ready; install tokens signed by key %s of %s",
            self.store.description,
            ring.active.key_id,
            ring.directory,
        )

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.enabled.refresh_s)
            try:
                await self.enabled.refresh()
                if self.token_keys is not None:
                    await asyncio.to_thread(self.token_keys.refresh)
            except Exception:
                # Logged, retried next round; past twice refresh_s tokens are refused.
                _logger.exception("refreshing the disabled installs or the token keys failed")

    async def stop(self) -> None:
        if self.serving.close() is None:
            return
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
        # Before the sink closes: what a part records while stopping is still delivered.
        for part in reversed(self.parts):
            await part.stop()
        sink, self.audit_sink = self.audit_sink, None
        if sink is not None:
            await asyncio.to_thread(sink.close, AUDIT_FLUSH_S)
        await self.store.close()
