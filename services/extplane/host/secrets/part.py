"""The secrets part of the host service (`HostPart`): the store, the key ring,
the provider and the admin service, started and stopped with the host."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc

from extplane.host.database import HostStore
from extplane.host.installs.store import InstallStore
from extplane.host.parts import PartContext
from extplane.host.secrets.admin import SECRETS_ADMIN, SecretsAdminServicer
from extplane.host.secrets.audit import SecretChanges
from extplane.host.secrets.keys import WatchedSecretKeys, key_directory, open_ring
from extplane.host.secrets.postgres import PostgresSecretsStore
from extplane.host.secrets.provider import SECRETS_SERVICE, SecretsServicer
from extplane.host.secrets.sqlite import SqliteSecretsStore
from extplane.host.secrets.store import SecretsStore
from extplane.host.secrets.vault import SecretVault
from extplane.runtime import ServiceKit, Serving
from extplane_client import AuditSink
from extplane_protos.alga.extension.v1 import secrets_pb2_grpc
from extplane_protos.extplane.admin.v1 import secrets_pb2_grpc as admin_grpc

SECRETS_SERVICES: tuple[str, ...] = (SECRETS_SERVICE, SECRETS_ADMIN)

_logger = logging.getLogger(__name__)


# On the host's database (the same file or PostgreSQL).
SECRETS_STORE = HostStore[SecretsStore](SqliteSecretsStore, PostgresSecretsStore)


class SecretsPart:
    """`key_clock` (monotonic seconds) ages the ring's last look at `key_dir`
    (`WatchedSecretKeys`); tests move it."""

    def __init__(
        self,
        *,
        kit: ServiceKit,
        installs: InstallStore,
        store: SecretsStore,
        key_dir: Path | None,
        key_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.key_dir = key_directory(key_dir, kit.data_dir)
        self.serving: Serving[SecretVault] = Serving("host")
        self._key_clock = key_clock
        self._audit: AuditSink | None = None
        self._provider = SecretsServicer(self.serving, kit.registry)
        self._admin = SecretsAdminServicer(
            self.serving, installs, kit, SecretChanges(lambda: self._audit, kit.clock_ns)
        )

    @property
    def service_names(self) -> Sequence[str]:
        return SECRETS_SERVICES

    def add_to_server(self, server: grpc.aio.Server) -> None:
        secrets_pb2_grpc.add_SecretsServiceServicer_to_server(self._provider, server)
        admin_grpc.add_SecretsAdminServiceServicer_to_server(self._admin, server)

    async def start(self, context: PartContext) -> None:
        if self.serving.is_open:
            return
        ring = await asyncio.to_thread(open_ring, self.key_dir)
        keys = await asyncio.to_thread(WatchedSecretKeys, self.key_dir, clock=self._key_clock)
        await self.store.open()
        self._audit = context.audit
        self.serving.open(
            SecretVault(
                self.store,
                lambda: keys.ring,
                context.kit.clock_ns,
                latest_ring=keys.latest,
            )
        )
        _logger.info("secrets sealed with key %s of %s", ring.active_id, self.key_dir)
        await self._report_lost_keys()

    async def _report_lost_keys(self) -> None:
        """Say at start when stored secrets need keys the ring lacks (a data dir
        lost, a replica given another ring): each would answer SECRET_ERROR_INTERNAL."""
        ring = self.serving.current.ring
        lost = {kid: n for kid, n in (await self.store.key_ids()).items() if kid not in ring.keys}
        if lost:
            _logger.error(
                "%d stored secrets are sealed with keys not in %s (%s): they answer "
                "SECRET_ERROR_INTERNAL until those key files are restored",
                sum(lost.values()),
                self.key_dir,
                ", ".join(sorted(lost)),
            )

    async def stop(self) -> None:
        if self.serving.close() is None:
            return
        self._audit = None
        await self.store.close()
