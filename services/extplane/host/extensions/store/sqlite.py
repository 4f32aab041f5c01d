"""The extension registry on the host's SQLite file: an upload is one
`BEGIN IMMEDIATE` transaction, so its version and its component's bytes are
stored together or not at all."""

from __future__ import annotations

import sqlite3

from extplane.host.extensions.model import ComponentRef, ExtensionVersion
from extplane.host.extensions.store import ListedVersion, VersionsQuery
from extplane.host.extensions.store import sql as statements
from extplane.host.extensions.store.schema import COMPONENT, MIGRATIONS
from extplane.storage import SqliteStore


class SqliteExtensionStore(SqliteStore):
    component = COMPONENT
    migrations = MIGRATIONS

    async def insert(
        self, version: ExtensionVersion, content: bytes | None
    ) -> ExtensionVersion | None:
        key = (version.extension_id, version.version)
        row = statements.version_row(version)
        blob = statements.component_row(version, content) if content is not None else None

        def write(conn: sqlite3.Connection) -> ExtensionVersion | None:
            # The writer is one thread: nothing can come between the look and the insert.
            found = conn.execute(statements.SELECT_ONE, key).fetchone()
            if found is not None:
                return statements.version(found)
            if blob is not None:
                conn.execute(statements.INSERT_COMPONENT, blob)
            conn.execute(statements.INSERT_VERSION, row)
            return None

        return await self.db.write(write)

    async def get(self, extension_id: str, version: str) -> ExtensionVersion | None:
        def read(conn: sqlite3.Connection) -> ExtensionVersion | None:
            found = conn.execute(statements.SELECT_ONE, (extension_id, version)).fetchone()
            return None if found is None else statements.version(found)

        # One row by its unique key (the runner asks on every execution).
        return await self.db.read_inline(read)

    async def list(self, query: VersionsQuery) -> list[ListedVersion]:
        sql, params = statements.list_sql(query)

        def read(conn: sqlite3.Connection) -> list[ListedVersion]:
            return [statements.listed(found) for found in conn.execute(sql, params)]

        return await self.db.read(read)

    async def component_ref(self, sha256: str) -> ComponentRef | None:
        def read(conn: sqlite3.Connection) -> ComponentRef | None:
            found = conn.execute(statements.SELECT_COMPONENT_REF, (sha256,)).fetchone()
            return None if found is None else statements.component_ref(found)

        return await self.db.read(read)

    async def component_content(self, sha256: str) -> bytes | None:
        def read(conn: sqlite3.Connection) -> bytes | None:
            found = conn.execute(statements.SELECT_CONTENT, (sha256,)).fetchone()
            return None if found is None else bytes(found[0])

        # Up to 64 MiB: on a reader thread, never the loop's.
        return await self.db.read(read)

    async def has_versions(self, extension_id: str) -> bool:
        def read(conn: sqlite3.Connection) -> bool:
            return conn.execute(statements.HAS_VERSIONS, (extension_id,)).fetchone() is not None

        return await self.db.read_inline(read)
