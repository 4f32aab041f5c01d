"""The storage provider's queries on the host's SQLite file.

Every write is one `BEGIN IMMEDIATE` transaction on the single writer
connection, so writes are already serial; the usage row is kept as on
PostgreSQL so both backends hold the same data.
"""

from __future__ import annotations

import sqlite3

from extplane.host.storage import sql
from extplane.host.storage.store import Address, Entry, Quota, Refusal, Stored, decide_put
from extplane.storage import SqliteStore


def _entry(row: tuple[str, str, bytes, int]) -> Entry:
    namespace, key, value, revision = row
    return Entry(namespace, key, bytes(value), revision)


class SqliteStorageEntries(SqliteStore):
    async def get_entry(self, at: Address) -> Entry | None:
        def read(conn: sqlite3.Connection) -> Entry | None:
            found = conn.execute(sql.SELECT_ENTRY, at).fetchone()
            return None if found is None else _entry(found)

        # One row by primary key: on the loop's thread (see read_inline).
        return await self.db.read_inline(read)

    async def put_entry(
        self, at: Address, value: bytes, expected_revision: int | None, quota: Quota
    ) -> Entry | Refusal:
        install = (at.tenant, at.install_id)

        def write(conn: sqlite3.Connection) -> Entry | Refusal:
            conn.execute(sql.ENSURE_USAGE, install)
            (used,) = conn.execute(sql.SELECT_USAGE, install).fetchone()
            found = conn.execute(sql.SELECT_STORED, at).fetchone()
            stored = None if found is None else Stored(*found)
            (keys,) = conn.execute(sql.COUNT_NAMESPACE, (*install, at.namespace)).fetchone()
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
            conn.execute(sql.UPSERT, (*at, value, len(value), decided))
            grown = len(value) - (0 if stored is None else stored.size)
            conn.execute(sql.ADD_USAGE, (grown, *install))
            return Entry(at.namespace, at.key, value, decided)

        return await self.db.write(write)

    async def delete_entry(self, at: Address) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            found = conn.execute(sql.DELETE, at).fetchone()
            if found is None:
                return False
            conn.execute(sql.ADD_USAGE, (-found[0], at.tenant, at.install_id))
            return True

        return await self.db.write(write)

    async def list_entries(
        self, tenant: str, install_id: str, namespace: str, after: str | None, limit: int
    ) -> list[Entry]:
        statement = sql.LIST_FROM_START if after is None else sql.LIST_AFTER
        after_key: tuple[str, ...] = () if after is None else (after,)
        params = (tenant, install_id, namespace, *after_key, limit)

        def read(conn: sqlite3.Connection) -> list[Entry]:
            return [_entry(row) for row in conn.execute(statement, params)]

        return await self.db.read(read)
