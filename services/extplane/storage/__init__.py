"""Storage shared by the stateful services: SQLite (default) and PostgreSQL.

Each service owns its store interface and both implementations; this package
holds what they have in common: where the store is (`resolve_store`), the
SQLite connection discipline (`SqliteDatabase`), the asyncpg pool
(`create_pool`), versioned migrations, and group commit.
"""

from extplane.storage.group_commit import GroupCommitter
from extplane.storage.location import StoreLocation, resolve_store
from extplane.storage.migrations import (
    Migration,
    MigrationError,
    migrate_postgres,
    migrate_sqlite,
)
from extplane.storage.postgres import create_pool
from extplane.storage.sqlite import SqliteDatabase

__all__ = [
    "GroupCommitter",
    "Migration",
    "MigrationError",
    "SqliteDatabase",
    "StoreLocation",
    "create_pool",
    "migrate_postgres",
    "migrate_sqlite",
    "resolve_store",
]
