"""The secrets part of the host service: the store, the key ring, the provider
and the admin service, started and stopped with the host (`HostService`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc

from extplane.host.installs.store import InstallStore
from extplane.host.secrets.admin import SECRETS_ADMIN, SecretsAdminServicer
from extplane.host.secrets.audit import SecretChanges
from extplane.host.secrets.keys import WatchedSecretKeys, key_directory, open_ring
from extplane.host.secrets.postgres import PostgresSecretsStore
from extplane.host.secrets.provider import SECRETS_SERVICE, SecretsServicer
from extplane.host.secrets.sqlite import SqliteSecretsStore
from extplane.host.secrets.store import SecretsStore
from extplane.host.secrets.vault import SecretVault
from extplane.runtime import ServiceKit, Serving
from extplane.storage import open_store
from extplane_client import AuditSink
from extplane_protos.alga.extension.v1 import secrets_pb2_grpc
from extplane_protos.extplane.admin.v1 import secrets_pb2_grpc as admin_grpc

_logger = logging.getLogger(__name__)


def secrets_store(database_url: str | None, data_dir: Path, default_file: str) -> SecretsStore:
    """On the host's database (the same file or PostgreSQL), not yet opened."""
    sqlite: Callable[[Path], SecretsStore] = SqliteSecretsStore
    postgres: Callable[[str], SecretsStore] = PostgresSecretsStore
    return open_store(database_url, data_dir, default_file, sqlite=sqlite, postgres=postgres)


class HostSecrets:
    def __init__(
        self,
        *,
        kit: ServiceKit,
        installs: InstallStore,
        store: SecretsStore,
        key_dir: Path | None,
        audit: Callable[[], AuditSink | None],
    ) -> None:
        self._kit = kit
        self.store = store
        self.key_dir = key_directory(key_dir, kit.data_dir)
        self.serving: Serving[SecretVault] = Serving("host")
        self._provider = SecretsServicer(self.serving, kit.registry)
        self._admin = SecretsAdminServicer(
            self.serving, installs, kit, SecretChanges(audit, kit.clock_ns)
        )

    @property
    def service_names(self) -> Sequence[str]:
        return (SECRETS_SERVICE, SECRETS_ADMIN)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        secrets_pb2_grpc.add_SecretsServiceServicer_to_server(self._provider, server)
        admin_grpc.add_SecretsAdminServiceServicer_to_server(self._admin, server)

    async def start(self) -> None:
        if self.serving.is_open:
            return
        ring = await asyncio.to_thread(open_ring, self.key_dir)
        keys = await asyncio.to_thread(WatchedSecretKeys, self.key_dir)
        await self.store.open()
        self.serving.open(SecretVault(self.store, lambda: keys.ring, self._kit.clock_ns))
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
        await self.store.close()
