"""The extension registry on PostgreSQL, shared by the host's replicas.

An upload is one transaction: the version row first (`ON CONFLICT DO
NOTHING`: of two replicas storing one version, the unique index lets one
win), then the component's bytes unless stored already; the loser reads the
winner's version and stores nothing.
"""

from __future__ import annotations

from extplane.host.extensions.model import ComponentRef, ExtensionVersion
from extplane.host.extensions.store import ListedVersion, VersionsQuery
from extplane.host.extensions.store import sql as statements
from extplane.host.extensions.store.schema import COMPONENT, MIGRATIONS
from extplane.storage import PostgresStore, postgres_sql

_INSERT_VERSION = postgres_sql(statements.INSERT_VERSION)
_INSERT_COMPONENT = postgres_sql(statements.INSERT_COMPONENT)
_SELECT_ONE = postgres_sql(statements.SELECT_ONE)
_SELECT_COMPONENT_REF = postgres_sql(statements.SELECT_COMPONENT_REF)
_SELECT_CONTENT = postgres_sql(statements.SELECT_CONTENT)
_HAS_VERSIONS = postgres_sql(statements.HAS_VERSIONS)


def _inserted_one(status: str) -> bool:
    return status.rsplit(" ", 1)[-1] == "1"


class PostgresExtensionStore(PostgresStore):
    component = COMPONENT
    migrations = MIGRATIONS

    async def insert(
        self, version: ExtensionVersion, content: bytes | None
    ) -> ExtensionVersion | None:
        async with self.pool.acquire() as conn, conn.transaction():
            status = await conn.execute(_INSERT_VERSION, *statements.version_row(version))
            if _inserted_one(status):
                if content is not None:
                    await conn.execute(
                        _INSERT_COMPONENT, *statements.component_row(version, content)
                    )
                return None
        # Another upload stored this version first (its transaction has committed).
        stored = await self.get(version.extension_id, version.version)
        assert stored is not None, "a stored version is never deleted"
        return stored

    async def get(self, extension_id: str, version: str) -> ExtensionVersion | None:
        found = await self.pool.fetchrow(_SELECT_ONE, extension_id, version)
        return None if found is None else statements.version(tuple(found))

    async def list(self, query: VersionsQuery) -> list[ListedVersion]:
        sql, params = statements.list_sql(query)
        records = await self.pool.fetch(postgres_sql(sql), *params)
        return [statements.listed(tuple(record)) for record in records]

    async def component_ref(self, sha256: str) -> ComponentRef | None:
        found = await self.pool.fetchrow(_SELECT_COMPONENT_REF, sha256)
        return None if found is None else statements.component_ref(tuple(found))

    async def component_content(self, sha256: str) -> bytes | None:
        found = await self.pool.fetchval(_SELECT_CONTENT, sha256)
        return None if found is None else bytes(found)

    async def has_versions(self, extension_id: str) -> bool:
        return await self.pool.fetchval(_HAS_VERSIONS, extension_id) is not None
