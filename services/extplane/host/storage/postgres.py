"""The storage provider's queries on PostgreSQL, where replicas share the rows.

A write locks the install's usage row (`SELECT … FOR UPDATE`) before reading
the entry, so of two replicas writing one install, the second waits and then
sees the first's revision: a compare-and-set has exactly one winner.
"""

from __future__ import annotations

from typing import Any

from extplane.host.storage import sql
from extplane.host.storage.store import Address, Entry, Quota, Refusal, Stored, decide_put
from extplane.storage import PostgresStore, postgres_sql

_SELECT_ENTRY = postgres_sql(sql.SELECT_ENTRY)
_SELECT_STORED = postgres_sql(sql.SELECT_STORED)
_COUNT_NAMESPACE = postgres_sql(sql.COUNT_NAMESPACE)
_ENSURE_USAGE = postgres_sql(sql.ENSURE_USAGE)
_LOCK_USAGE = postgres_sql(sql.SELECT_USAGE + " FOR UPDATE")
_ADD_USAGE = postgres_sql(sql.ADD_USAGE)
_UPSERT = postgres_sql(sql.UPSERT)
_DELETE = postgres_sql(sql.DELETE)
_LIST_FROM_START = postgres_sql(sql.LIST_FROM_START)
_LIST_AFTER = postgres_sql(sql.LIST_AFTER)


def _entry(row: Any) -> Entry:
    return Entry(row[0], row[1], bytes(row[2]), row[3])


class PostgresStorageEntries(PostgresStore):
    async def get_entry(self, at: Address) -> Entry | None:
        found = await self.pool.fetchrow(_SELECT_ENTRY, *at)
        return None if found is None else _entry(found)

    async def put_entry(
        self, at: Address, value: bytes, expected_revision: int | None, quota: Quota
    ) -> Entry | Refusal:
        install = (at.tenant, at.install_id)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_ENSURE_USAGE, *install)
            used = await conn.fetchval(_LOCK_USAGE, *install)
            found = await conn.fetchrow(_SELECT_STORED, *at)
            stored = None if found is None else Stored(found[0], found[1])
            keys = await conn.fetchval(_COUNT_NAMESPACE, *install, at.namespace)
            decided = decide_put(
                stored,
                expected_revision,
                new_size=len(value),
                namespace_keys=keys,
                install_bytes=used,
                quota=quota,
            )
            if isinstance(decided, Refusal):
                return decided
            await conn.execute(_UPSERT, *at, value, len(value), decided)
            grown = len(value) - (0 if stored is None else stored.size)
            await conn.execute(_ADD_USAGE, grown, *install)
        return Entry(at.namespace, at.key, value, decided)

    async def delete_entry(self, at: Address) -> bool:
        install = (at.tenant, at.install_id)
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(_ENSURE_USAGE, *install)
            await conn.fetchval(_LOCK_USAGE, *install)
            size = await conn.fetchval(_DELETE, *at)
            if size is None:
                return False
            await conn.execute(_ADD_USAGE, -size, *install)
        return True

    async def list_entries(
        self, tenant: str, install_id: str, namespace: str, after: str | None, limit: int
    ) -> list[Entry]:
        if after is None:
            rows = await self.pool.fetch(_LIST_FROM_START, tenant, install_id, namespace, limit)
        else:
            rows = await self.pool.fetch(_LIST_AFTER, tenant, install_id, namespace, after, limit)
        return [_entry(row) for row in rows]
