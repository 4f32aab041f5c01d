"""What the catalog providers and their loader ask of a store.

`SqliteCatalogStore` (beside the install registry's file) and
`PostgresCatalogStore` (replicas share it) keep one table each for clients and
catalog items, keyed by (tenant, id). Every query names the tenant, which the
providers take from the verified install token only; a load replaces the
tenant's rows in one transaction, so a reader sees the old catalog or the new
one, never a mix. `tests/host` runs the same tests on both.
"""

from __future__ import annotations

from typing import Protocol

from extplane.host.catalogs.model import (
    Client,
    ClientsQuery,
    Listed,
    Service,
    ServicesQuery,
)


class CatalogStore(Protocol):
    @property
    def description(self) -> str: ...

    async def open(self) -> None:
        """Connect and bring the schema to this code's version."""
        ...

    async def close(self) -> None:
        """Safe without `open()` and safe twice."""
        ...

    async def replace_clients(self, tenant: str, clients: list[Client]) -> int:
        """The tenant's clients become exactly `clients`; how many it held before."""
        ...

    async def replace_services(self, tenant: str, services: list[Service]) -> int:
        """The tenant's catalog becomes exactly `services`; how many it held before."""
        ...

    async def counts(self, tenant: str) -> tuple[int, int]:
        """(clients, catalog items) the tenant holds."""
        ...

    async def list_clients(self, tenant: str, query: ClientsQuery) -> Listed[Client]: ...

    async def get_client(self, tenant: str, client_id: str) -> Client | None: ...

    async def list_services(self, tenant: str, query: ServicesQuery) -> Listed[Service]: ...

    async def get_service(self, tenant: str, service_id: str) -> Service | None: ...
