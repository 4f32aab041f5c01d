"""Versioned schema migrations, run when a service starts.

Each component (e.g. `metering`) has its own numbered list; a database
records which versions it has. Migrations run in one transaction with what
they record, so a crash mid-way leaves the previous version. On PostgreSQL an
advisory lock makes replicas (and services sharing the database) starting
together take turns. A database newer
than the running code is refused rather than half-understood.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from extplane.errors import StartupError
from extplane.storage.sqlite import SqliteDatabase

_TABLE = "extplane_schema_migrations"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {_TABLE} ("
    " component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
    " applied_at TEXT NOT NULL, PRIMARY KEY (component, version))"
)


class MigrationError(StartupError):
    """The database's schema cannot be brought to this code's version."""


@dataclass(frozen=True)
class Migration:
    """One schema step; each dialect's SQL is a sequence of statements."""

    version: int
    name: str
    sqlite: Sequence[str]
    postgres: Sequence[str]


def _check(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migration versions must be 1, 2, 3, …; got {versions}")


def _pending(component: str, applied: set[int], migrations: Sequence[Migration]) -> list[Migration]:
    known = len(migrations)
    newest = max(applied, default=0)
    if newest > known:
        raise MigrationError(
            f"{component} schema is at version {newest}, newer than this build knows ({known})"
        )
    return [m for m in migrations if m.version not in applied]


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def migrate_sqlite(
    db: SqliteDatabase, component: str, migrations: Sequence[Migration]
) -> list[int]:
    """Apply what is pending; returns the versions applied now."""
    _check(migrations)

    def run(conn: sqlite3.Connection) -> list[int]:
        conn.execute(_CREATE)
        rows = conn.execute(f"SELECT version FROM {_TABLE} WHERE component = ?", (component,))
        applied = {int(r[0]) for r in rows}
        done: list[int] = []
        for migration in _pending(component, applied, migrations):
            for statement in migration.sqlite:
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {_TABLE} (component, version, name, applied_at) VALUES (?, ?, ?, ?)",
                (component, migration.version, migration.name, _now()),
            )
            done.append(migration.version)
        return done

    return await db.write(run)


# One lock for every component, not one each: components sharing a database
# (metering and audit starting together) would otherwise race to create the
# migrations table itself.
_LOCK_KEY = int.from_bytes(hashlib.sha256(b"extplane.migrations").digest()[:8], "big", signed=True)


async def migrate_postgres(
    pool: asyncpg.Pool, component: str, migrations: Sequence[Migration]
) -> list[int]:
    """Apply what is pending, one replica at a time; returns the versions applied now."""
    _check(migrations)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(_CREATE)
        rows = await conn.fetch(f"SELECT version FROM {_TABLE} WHERE component = $1", component)
        applied = {int(r["version"]) for r in rows}
        done: list[int] = []
        for migration in _pending(component, applied, migrations):
            for statement in migration.postgres:
                await conn.execute(statement)
            await conn.execute(
                f"INSERT INTO {_TABLE} (component, version, name, applied_at)"
                " VALUES ($1, $2, $3, $4)",
                component,
                migration.version,
                migration.name,
                _now(),
            )
            done.append(migration.version)
        return done
