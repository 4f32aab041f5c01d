"""A typed async client for `extplane.admin.v1.CatalogAdminService`.

    async with CatalogsClient("127.0.0.1:50054", token=admin_token) as client:
        loaded = await client.load_clients(tenant="acme", content=data, file_format="csv")

Loads need a token with `installs.admin`; counts `installs.reader` or
`installs.admin`. A refused file raises `CatalogsError` (INVALID_ARGUMENT)
whose `field_violations` hold the first problems, each naming its row and field.
"""

from __future__ import annotations

import functools
from typing import Literal

from extplane_client._rpc import ChannelClient, choice
from extplane_client.errors import ExtplaneError
from extplane_protos.extplane.admin.v1 import catalogs_pb2 as pb
from extplane_protos.extplane.admin.v1 import catalogs_pb2_grpc

FileFormat = Literal["json", "csv"]
_FORMATS: dict[str, pb.CatalogFileFormat.ValueType] = {
    "json": pb.CATALOG_FILE_FORMAT_JSON,
    "csv": pb.CATALOG_FILE_FORMAT_CSV,
}


class CatalogsError(ExtplaneError):
    """A catalog admin call failed; `code` says how (INVALID_ARGUMENT for a bad file)."""


class CatalogsClient(ChannelClient):
    """Calls one host service's catalog admin API."""

    error_type = CatalogsError

    @functools.cached_property
    def _stub(self) -> catalogs_pb2_grpc.CatalogAdminServiceAsyncStub:
        return catalogs_pb2_grpc.CatalogAdminServiceStub(self._channel)

    async def load_clients(
        self,
        *,
        tenant: str,
        content: bytes,
        file_format: FileFormat,
        timeout: float = 60.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.LoadClientsResponse:
        """Replace the tenant's clients with the file's rows (all or nothing)."""
        request = pb.LoadClientsRequest(
            tenant=tenant,
            format=choice(_FORMATS, file_format, "file_format"),
            content=content,
        )
        return await self._unary(self._stub.LoadClients, request, timeout)

    async def load_services(
        self,
        *,
        tenant: str,
        content: bytes,
        file_format: FileFormat,
        timeout: float = 60.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.LoadServicesResponse:
        """Replace the tenant's service catalog with the file's rows (all or nothing)."""
        request = pb.LoadServicesRequest(
            tenant=tenant,
            format=choice(_FORMATS, file_format, "file_format"),
            content=content,
        )
        return await self._unary(self._stub.LoadServices, request, timeout)

    async def get_catalog_counts(
        self,
        *,
        tenant: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.GetCatalogCountsResponse:
        """How many clients and catalog items the tenant holds."""
        request = pb.GetCatalogCountsRequest(tenant=tenant)
        return await self._unary(self._stub.GetCatalogCounts, request, timeout)
