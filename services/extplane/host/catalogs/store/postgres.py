"""The catalogs on PostgreSQL, where replicas share the rows.

A load holds a transaction-scoped advisory lock on (catalog, tenant) before
it deletes, so two loads of one tenant's catalog run one after the other
(the second would otherwise insert ids the first just stored). A list reads
its page and its count in one REPEATABLE READ snapshot, so they agree.
"""

from __future__ import annotations

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
from extplane.storage import PostgresStore, postgres_sql

T = TypeVar("T")
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"


def _deleted(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


class PostgresCatalogStore(PostgresStore):
    component = COMPONENT
    migrations = MIGRATIONS

    async def _replace(
        self, catalog: str, delete: str, insert: str, tenant: str, rows: list[Any]
    ) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_LOCK, f"{catalog}/{tenant}")
            before = _deleted(await conn.execute(postgres_sql(delete), tenant))
            if rows:
                await conn.executemany(postgres_sql(insert), rows)
        return before

    async def replace_clients(self, tenant: str, clients: list[Client]) -> int:
        rows = [sql.client_row(tenant, c) for c in clients]
        return await self._replace("clients", sql.DELETE_CLIENTS, sql.INSERT_CLIENT, tenant, rows)

    async def replace_services(self, tenant: str, services: list[Service]) -> int:
        rows = [sql.service_row(tenant, s) for s in services]
        return await self._replace(
            "services", sql.DELETE_SERVICES, sql.INSERT_SERVICE, tenant, rows
        )

    async def counts(self, tenant: str) -> tuple[int, int]:
        async with (
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            clients = await conn.fetchval(postgres_sql(sql.COUNT_CLIENTS), tenant)
            services = await conn.fetchval(postgres_sql(sql.COUNT_SERVICES), tenant)
        return int(clients), int(services)

    async def _list(
        self,
        statements: tuple[str, list[object], str, list[object]],
        build: Callable[[Sequence[Any]], T],
    ) -> Listed[T]:
        page, page_values, count, count_values = statements
        async with (
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            rows = await conn.fetch(postgres_sql(page), *page_values)
            total = await conn.fetchval(postgres_sql(count), *count_values)
        return Listed(tuple(build(tuple(row)) for row in rows), int(total))

    async def _get(
        self, statement: str, tenant: str, ident: str, build: Callable[[Sequence[Any]], T]
    ) -> T | None:
        found = await self.pool.fetchrow(postgres_sql(statement), tenant, ident)
        return None if found is None else build(tuple(found))

    async def list_clients(self, tenant: str, query: ClientsQuery) -> Listed[Client]:
        return await self._list(sql.list_clients(tenant, query), sql.client)

    async def get_client(self, tenant: str, client_id: str) -> Client | None:
        return await self._get(sql.GET_CLIENT, tenant, client_id, sql.client)

    async def list_services(self, tenant: str, query: ServicesQuery) -> Listed[Service]:
        return await self._list(sql.list_services(tenant, query), sql.service)

    async def get_service(self, tenant: str, service_id: str) -> Service | None:
        return await self._get(sql.GET_SERVICE, tenant, service_id, sql.service)
