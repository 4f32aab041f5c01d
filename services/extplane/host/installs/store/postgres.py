"""The install registry on PostgreSQL: several replicas may share one database.

A change is one conditional UPDATE (`… AND revision = $n`): of two replicas
changing one install at one revision, the row lock lets exactly one match.
"""

from __future__ import annotations

from extplane.host.installs.model import Install
from extplane.host.installs.store import InstallsQuery, ListedInstall
from extplane.host.installs.store import sql as statements
from extplane.host.installs.store.schema import COMPONENT, MIGRATIONS
from extplane.host.storage.postgres import PostgresStorageEntries
from extplane.storage import postgres_sql

_INSERT = postgres_sql(statements.INSERT)
_SELECT_ONE = postgres_sql(statements.SELECT_ONE)
_REPLACE = postgres_sql(statements.REPLACE)


def _changed_one(status: str) -> bool:
    return status.rsplit(" ", 1)[-1] == "1"


class PostgresInstallStore(PostgresStorageEntries):
    component = COMPONENT
    migrations = MIGRATIONS

    async def insert(self, install: Install) -> bool:
        status = await self.pool.execute(_INSERT, *statements.row(install))
        return _changed_one(status)

    async def get(self, tenant: str, install_id: str) -> Install | None:
        found = await self.pool.fetchrow(_SELECT_ONE, tenant, install_id)
        return None if found is None else statements.install(tuple(found))

    async def replace(self, install: Install, *, expected_revision: int) -> bool:
        values = statements.replace_values(install, expected_revision)
        return _changed_one(await self.pool.execute(_REPLACE, *values))

    async def list(self, query: InstallsQuery) -> list[ListedInstall]:
        sql, params = statements.list_sql(query)
        records = await self.pool.fetch(postgres_sql(sql), *params)
        return [statements.listed(tuple(record)) for record in records]
