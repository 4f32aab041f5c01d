"""The storage half of the service kit: what every stateful service's store stands on.

Each service owns its store interface and both implementations (SQLite by
default, PostgreSQL to share one database between replicas); this package
holds what they have in common:

* `open_store` — the one store factory, by `database_url` scheme;
* `SqliteStore` / `PostgresStore` — the base of a service's store: open
  (connect, migrate), close, describe;
* `SqliteDatabase` — one writer thread, WAL, durable commits, reader threads;
* `create_pool` — the asyncpg pool;
* `postgres_sql`, `Conditions` — SQL is written with `?` placeholders (numbered for
  PostgreSQL), WHERE clauses built with their values;
* `migrate_sqlite` / `migrate_postgres` — versioned migrations run at start;
* `GroupCommitter` — concurrent requests share one durable transaction;
* `ensure_private_directory` & co. — the data directory 0700, its files 0600.
"""

from extplane.storage.group_commit import GroupCommitter
from extplane.storage.location import (
    StoreLocation,
    check_database_url,
    describe_dsn,
    open_store,
    resolve_store,
)
from extplane.storage.migrations import (
    Migration,
    MigrationError,
    migrate_postgres,
    migrate_sqlite,
)
from extplane.storage.postgres import create_pool
from extplane.storage.private_files import (
    ensure_private_directory,
    replace_private_file,
    touch_private_file,
    write_private_file_once,
)
from extplane.storage.sql import Conditions, postgres_sql
from extplane.storage.sqlite import SqliteDatabase
from extplane.storage.store_base import PostgresStore, SqliteStore

__all__ = [
    "Conditions",
    "GroupCommitter",
    "Migration",
    "MigrationError",
    "PostgresStore",
    "SqliteDatabase",
    "SqliteStore",
    "StoreLocation",
    "check_database_url",
    "create_pool",
    "describe_dsn",
    "ensure_private_directory",
    "migrate_postgres",
    "migrate_sqlite",
    "open_store",
    "postgres_sql",
    "replace_private_file",
    "resolve_store",
    "touch_private_file",
    "write_private_file_once",
]
