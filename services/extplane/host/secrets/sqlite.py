"""The secrets on the host's SQLite file."""

from __future__ import annotations

import sqlite3

from extplane.host.secrets import sql
from extplane.host.secrets.schema import COMPONENT, MIGRATIONS
from extplane.host.secrets.sealing import Sealed, SecretAddress
from extplane.host.secrets.store import StoredSecret
from extplane.storage import SqliteStore


class SqliteSecretsStore(SqliteStore):
    component = COMPONENT
    migrations = MIGRATIONS

    async def put(self, secret: StoredSecret) -> None:
        values = sql.row(secret)
        await self.db.write(lambda conn: conn.execute(sql.UPSERT, values))

    async def get(self, at: SecretAddress) -> StoredSecret | None:
        def read(conn: sqlite3.Connection) -> StoredSecret | None:
            found = conn.execute(sql.SELECT_ONE, at).fetchone()
            return None if found is None else sql.secret(found)

        # One row by primary key, on every provider call: on the loop's thread.
        return await self.db.read_inline(read)

    async def delete(self, at: SecretAddress) -> bool:
        return await self.db.write(lambda conn: conn.execute(sql.DELETE, at).rowcount == 1)

    async def of_install(self, tenant: str, install_id: str) -> list[StoredSecret]:
        def read(conn: sqlite3.Connection) -> list[StoredSecret]:
            return [sql.secret(found) for found in conn.execute(sql.LIST, (tenant, install_id))]

        return await self.db.read(read)

    async def count(self, tenant: str, install_id: str) -> int:
        def read(conn: sqlite3.Connection) -> int:
            (found,) = conn.execute(sql.COUNT, (tenant, install_id)).fetchone()
            return int(found)

        return await self.db.read(read)

    async def key_ids(self) -> dict[str, int]:
        def read(conn: sqlite3.Connection) -> dict[str, int]:
            return {kid: int(n) for kid, n in conn.execute(sql.KEY_IDS)}

        return await self.db.read(read)

    async def after(self, at: SecretAddress | None, limit: int) -> list[StoredSecret]:
        statement, params = (sql.FROM_START, (limit,)) if at is None else (sql.AFTER, (*at, limit))

        def read(conn: sqlite3.Connection) -> list[StoredSecret]:
            return [sql.secret(found) for found in conn.execute(statement, params)]

        return await self.db.read(read)

    async def reseal(self, secret: StoredSecret, sealed: Sealed) -> bool:
        values = sql.reseal_values(secret, sealed)
        return await self.db.write(lambda conn: conn.execute(sql.RESEAL, values).rowcount == 1)
