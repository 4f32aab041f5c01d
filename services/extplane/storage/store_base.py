"""The lifecycle every service store shares, once per dialect.

A service's store subclasses `SqliteStore` or `PostgresStore`, names its
migrations (`component`, `migrations`), and writes only its queries: opening
(connect, then bring the schema to this code's version), closing (safe
without `open()` and safe twice) and describing itself for logs (never a
password) are here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import asyncpg

from extplane.storage.location import describe_dsn
from extplane.storage.migrations import Migration, migrate_postgres, migrate_sqlite
from extplane.storage.postgres import create_pool
from extplane.storage.sqlite import SqliteDatabase


class SqliteStore:
    component: ClassVar[str]
    migrations: ClassVar[Sequence[Migration]]

    def __init__(self, path: Path) -> None:
        self.db = SqliteDatabase(path)

    @property
    def description(self) -> str:
        return f"sqlite:{self.db.path}"

    async def open(self) -> None:
        await self.db.open()
        await migrate_sqlite(self.db, self.component, self.migrations)

    async def close(self) -> None:
        await self.db.close()


class PostgresStore:
    component: ClassVar[str]
    migrations: ClassVar[Sequence[Migration]]

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._pool: asyncpg.Pool | None = None

    @property
    def description(self) -> str:
        return describe_dsn(self._dsn)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError(f"store {self.description} is not open")
        return self._pool

    async def open(self) -> None:
        self._pool = await create_pool(self._dsn)
        await migrate_postgres(self._pool, self.component, self.migrations)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
