"""The install registry on an embedded SQLite file (the default)."""

from __future__ import annotations

import sqlite3

from extplane.host.installs.model import Install
from extplane.host.installs.store import InstallsQuery, ListedInstall
from extplane.host.installs.store import sql as statements
from extplane.host.installs.store.schema import COMPONENT, MIGRATIONS
from extplane.host.storage.sqlite import SqliteStorageEntries


class SqliteInstallStore(SqliteStorageEntries):
    component = COMPONENT
    migrations = MIGRATIONS

    async def insert(self, install: Install) -> bool:
        values = statements.row(install)

        def write(conn: sqlite3.Connection) -> bool:
            return conn.execute(statements.INSERT, values).rowcount == 1

        return await self.db.write(write)

    async def get(self, tenant: str, install_id: str) -> Install | None:
        def read(conn: sqlite3.Connection) -> Install | None:
            found = conn.execute(statements.SELECT_ONE, (tenant, install_id)).fetchone()
            return None if found is None else statements.install(found)

        # One row by primary key, on every provider call: on the loop's thread.
        return await self.db.read_inline(read)

    async def replace(self, install: Install, *, expected_revision: int) -> bool:
        values = statements.replace_values(install, expected_revision)

        def write(conn: sqlite3.Connection) -> bool:
            return conn.execute(statements.REPLACE, values).rowcount == 1

        return await self.db.write(write)

    async def list(self, query: InstallsQuery) -> list[ListedInstall]:
        sql, params = statements.list_sql(query)

        def read(conn: sqlite3.Connection) -> list[ListedInstall]:
            return [statements.listed(found) for found in conn.execute(sql, params)]

        return await self.db.read(read)
