"""`extplane.admin.v1.CatalogAdminService`: an operator replaces a tenant's
clients or service catalog with a file's rows, or counts them.

Loads need `installs.admin`, counts `installs.reader` or `installs.admin`, on
the gRPC path and through the gateway alike. The whole file is checked before
anything is stored (`catalog_file`); the replacement is one transaction, and
an audit event with the counts (`audit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc

from extplane.host.catalogs.audit import Load, LoadLog
from extplane.host.catalogs.catalog_file import Format, clients_in, services_in
from extplane.host.catalogs.store import CatalogStore
from extplane.host.installs import shapes, validation
from extplane.runtime import INSTALLS_ADMIN, INSTALLS_READER, ServiceKit, Serving, bounds
from extplane_protos.extplane.admin.v1 import catalogs_pb2 as pb
from extplane_protos.extplane.admin.v1 import catalogs_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[Any, Any]
CATALOG_ADMIN: str = pb.DESCRIPTOR.services_by_name["CatalogAdminService"].full_name
_READERS = (INSTALLS_READER, INSTALLS_ADMIN)
_FORMATS = {pb.CATALOG_FILE_FORMAT_JSON: Format.JSON, pb.CATALOG_FILE_FORMAT_CSV: Format.CSV}


@dataclass(frozen=True)
class Catalogs:
    """What the admin servicer needs once the host is serving."""

    store: CatalogStore
    log: LoadLog


def _tenant(tenant: str) -> str:
    problems = validation.Violations()
    problems.check("tenant", tenant, shapes.id_problem)
    problems.raise_any()
    return tenant


class CatalogAdminServicer(pb_grpc.CatalogAdminServiceServicer):
    def __init__(self, serving: Serving[Catalogs], kit: ServiceKit) -> None:
        self._serving = serving
        self._kit = kit

    async def _admit(self, context: Context, role: str | tuple[str, ...]) -> tuple[str, Catalogs]:
        actor = await self._kit.authorizer.require(context, role)
        return actor, self._serving.current

    async def LoadClients(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.LoadClientsRequest, context: Context
    ) -> pb.LoadClientsResponse:
        actor, catalogs = await self._admit(context, INSTALLS_ADMIN)
        bounds.check(request)
        tenant = _tenant(request.tenant)
        file_format = _FORMATS[request.format]
        clients = clients_in(request.content, file_format)
        previous = await catalogs.store.replace_clients(tenant, clients)
        catalogs.log.record(
            actor,
            Load(
                tenant, "clients", file_format.value, len(request.content), len(clients), previous
            ),
        )
        return pb.LoadClientsResponse(client_count=len(clients), previous_count=previous)

    async def LoadServices(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.LoadServicesRequest, context: Context
    ) -> pb.LoadServicesResponse:
        actor, catalogs = await self._admit(context, INSTALLS_ADMIN)
        bounds.check(request)
        tenant = _tenant(request.tenant)
        file_format = _FORMATS[request.format]
        services = services_in(request.content, file_format)
        previous = await catalogs.store.replace_services(tenant, services)
        catalogs.log.record(
            actor,
            Load(
                tenant, "services", file_format.value, len(request.content), len(services), previous
            ),
        )
        return pb.LoadServicesResponse(service_count=len(services), previous_count=previous)

    async def GetCatalogCounts(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.GetCatalogCountsRequest, context: Context
    ) -> pb.GetCatalogCountsResponse:
        _, catalogs = await self._admit(context, _READERS)
        bounds.check(request)
        clients, services = await catalogs.store.counts(_tenant(request.tenant))
        return pb.GetCatalogCountsResponse(client_count=clients, service_count=services)
