"""The catalogs on the host's SQLite file: a load is one `BEGIN IMMEDIATE`
transaction (delete the tenant's rows, insert the file's), a list one read
snapshot (its page and its count agree)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from extplane.host.catalogs.model import (
    Client,
    ClientsQuery,
    Listed,
    Service,
    ServicesQuery,
)
from extplane.host.catalogs.store import sql
from extplane.host.catalogs.store.schema import COMPONENT, MIGRATIONS
from extplane.storage import SqliteStore

T = TypeVar("T")


class SqliteCatalogStore(SqliteStore):
    component = COMPONENT
    migrations = MIGRATIONS

    async def _replace(self, delete: str, insert: str, tenant: str, rows: list[Any]) -> int:
        def write(conn: sqlite3.Connection) -> int:
            before = conn.execute(delete, (tenant,)).rowcount
            conn.executemany(insert, rows)
            return before

        return await self.db.write(write)

    async def replace_clients(self, tenant: str, clients: list[Client]) -> int:
        rows = [sql.client_row(tenant, c) for c in clients]
        return await self._replace(sql.DELETE_CLIENTS, sql.INSERT_CLIENT, tenant, rows)

    async def replace_services(self, tenant: str, services: list[Service]) -> int:
        rows = [sql.service_row(tenant, s) for s in services]
        return await self._replace(sql.DELETE_SERVICES, sql.INSERT_SERVICE, tenant, rows)

    async def counts(self, tenant: str) -> tuple[int, int]:
        def read(conn: sqlite3.Connection) -> tuple[int, int]:
            (clients,) = conn.execute(sql.COUNT_CLIENTS, (tenant,)).fetchone()
            (services,) = conn.execute(sql.COUNT_SERVICES, (tenant,)).fetchone()
            return clients, services

        return await self.db.read(read)

    async def _list(
        self,
        statements: tuple[str, list[object], str, list[object]],
        build: Callable[[Sequence[Any]], T],
    ) -> Listed[T]:
        page, page_values, count, count_values = statements

        def read(conn: sqlite3.Connection) -> Listed[T]:
            items = tuple(build(row) for row in conn.execute(page, page_values))
            (total,) = conn.execute(count, count_values).fetchone()
            return Listed(items, total)

        return await self.db.read(read)

    async def _get(
        self, statement: str, tenant: str, ident: str, build: Callable[[Sequence[Any]], T]
    ) -> T | None:
        def read(conn: sqlite3.Connection) -> T | None:
            found = conn.execute(statement, (tenant, ident)).fetchone()
            return None if found is None else build(found)

        return await self.db.read(read)

    async def list_clients(self, tenant: str, query: ClientsQuery) -> Listed[Client]:
        return await self._list(sql.list_clients(tenant, query), sql.client)

    async def get_client(self, tenant: str, client_id: str) -> Client | None:
        return await self._get(sql.GET_CLIENT, tenant, client_id, sql.client)

    async def list_services(self, tenant: str, query: ServicesQuery) -> Listed[Service]:
        return await self._list(sql.list_services(tenant, query), sql.service)

    async def get_service(self, tenant: str, service_id: str) -> Service | None:
        return await self._get(sql.GET_SERVICE, tenant, service_id, sql.service)
