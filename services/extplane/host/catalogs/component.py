"""The catalogs as one part of the host service: their store (in the host's
database, component `host.catalogs`), the two providers and the admin
service, opened and closed with the host."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import grpc.aio

from extplane.host.catalogs.admin import CATALOG_ADMIN, CatalogAdminServicer, Catalogs
from extplane.host.catalogs.audit import LoadLog
from extplane.host.catalogs.providers import (
    CLIENTS_SERVICE,
    SERVICES_SERVICE,
    ClientsServicer,
    ServicesServicer,
)
from extplane.host.catalogs.store import CatalogStore
from extplane.host.catalogs.store.postgres import PostgresCatalogStore
from extplane.host.catalogs.store.sqlite import SqliteCatalogStore
from extplane.runtime import ServiceKit, Serving
from extplane.storage import open_store
from extplane_client import AuditSink
from extplane_protos.alga.extension.v1 import clients_pb2_grpc, services_pb2_grpc
from extplane_protos.extplane.admin.v1 import catalogs_pb2_grpc

CATALOG_SERVICES: tuple[str, ...] = (CATALOG_ADMIN, CLIENTS_SERVICE, SERVICES_SERVICE)


def catalog_store(database_url: str | None, data_dir: Path, default_file: str) -> CatalogStore:
    """The store `database_url` names, as the install registry's is; not yet opened."""
    sqlite: Callable[[Path], CatalogStore] = SqliteCatalogStore
    postgres: Callable[[str], CatalogStore] = PostgresCatalogStore
    return open_store(database_url, data_dir, default_file, sqlite=sqlite, postgres=postgres)


class CatalogParts:
    def __init__(self, store: CatalogStore, kit: ServiceKit) -> None:
        self.store = store
        self._kit = kit
        self._serving: Serving[Catalogs] = Serving("host")
        self._readable: Serving[CatalogStore] = Serving("host")

    @property
    def service_names(self) -> Sequence[str]:
        return CATALOG_SERVICES

    def add_to_server(self, server: grpc.aio.Server) -> None:
        catalogs_pb2_grpc.add_CatalogAdminServiceServicer_to_server(
            CatalogAdminServicer(self._serving, self._kit), server
        )
        clients_pb2_grpc.add_ClientsServiceServicer_to_server(
            ClientsServicer(self._readable), server
        )
        services_pb2_grpc.add_ServicesServiceServicer_to_server(
            ServicesServicer(self._readable), server
        )

    async def start(self, audit: AuditSink) -> None:
        await self.store.open()
        self._serving.open(Catalogs(self.store, LoadLog(audit, self._kit.clock_ns)))
        self._readable.open(self.store)

    async def stop(self) -> None:
        self._readable.close()
        self._serving.close()
        await self.store.close()
