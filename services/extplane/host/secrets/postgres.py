"""The secrets on PostgreSQL, shared by the host's replicas."""

from __future__ import annotations

from extplane.host.secrets import sql
from extplane.host.secrets.schema import COMPONENT, MIGRATIONS
from extplane.host.secrets.sealing import Sealed, SecretAddress
from extplane.host.secrets.store import StoredSecret
from extplane.storage import PostgresStore, postgres_sql

_UPSERT = postgres_sql(sql.UPSERT)
_SELECT_ONE = postgres_sql(sql.SELECT_ONE)
_DELETE = postgres_sql(sql.DELETE)
_LIST = postgres_sql(sql.LIST)
_COUNT = postgres_sql(sql.COUNT)
_KEY_IDS = postgres_sql(sql.KEY_IDS)
_FROM_START = postgres_sql(sql.FROM_START)
_AFTER = postgres_sql(sql.AFTER)
_RESEAL = postgres_sql(sql.RESEAL)


def _changed_one(status: str) -> bool:
    return status.rsplit(" ", 1)[-1] == "1"


class PostgresSecretsStore(PostgresStore):
    component = COMPONENT
    migrations = MIGRATIONS

    async def put(self, secret: StoredSecret) -> None:
        await self.pool.execute(_UPSERT, *sql.row(secret))

    async def get(self, at: SecretAddress) -> StoredSecret | None:
        found = await self.pool.fetchrow(_SELECT_ONE, *at)
        return None if found is None else sql.secret(tuple(found))

    async def delete(self, at: SecretAddress) -> bool:
        return _changed_one(await self.pool.execute(_DELETE, *at))

    async def of_install(self, tenant: str, install_id: str) -> list[StoredSecret]:
        return [sql.secret(tuple(r)) for r in await self.pool.fetch(_LIST, tenant, install_id)]

    async def count(self, tenant: str, install_id: str) -> int:
        return int(await self.pool.fetchval(_COUNT, tenant, install_id))

    async def key_ids(self) -> dict[str, int]:
        return {row[0]: int(row[1]) for row in await self.pool.fetch(_KEY_IDS)}

    async def after(self, at: SecretAddress | None, limit: int) -> list[StoredSecret]:
        if at is None:
            rows = await self.pool.fetch(_FROM_START, limit)
        else:
            rows = await self.pool.fetch(_AFTER, *at, limit)
        return [sql.secret(tuple(r)) for r in rows]

    async def reseal(self, secret: StoredSecret, sealed: Sealed) -> bool:
        return _changed_one(await self.pool.execute(_RESEAL, *sql.reseal_values(secret, sealed)))
