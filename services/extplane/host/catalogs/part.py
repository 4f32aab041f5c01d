"""The catalogs part of the host service (`HostPart`): their store (in the
host's database, component `host.catalogs`), the two providers and the admin
service, opened and closed with the host."""

from __future__ import annotations

from collections.abc import Sequence

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
from extplane.host.database import HostStore
from extplane.host.parts import PartContext
from extplane.runtime import ServiceKit, Serving
from extplane_protos.alga.extension.v1 import clients_pb2_grpc, services_pb2_grpc
from extplane_protos.extplane.admin.v1 import catalogs_pb2_grpc

CATALOG_SERVICES: tuple[str, ...] = (CATALOG_ADMIN, CLIENTS_SERVICE, SERVICES_SERVICE)


# On the host's database (the same file or PostgreSQL).
CATALOG_STORE = HostStore[CatalogStore](SqliteCatalogStore, PostgresCatalogStore)


class CatalogsPart:
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

    async def start(self, context: PartContext) -> None:
        await self.store.open()
        self._serving.open(Catalogs(self.store, LoadLog(context.audit, context.kit.clock_ns)))
        self._readable.open(self.store)

    async def stop(self) -> None:
        self._readable.close()
        if self._serving.close() is None:
            return
        await self.store.close()
