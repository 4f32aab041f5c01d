"""Which store the settings name: SQLite by default, PostgreSQL by DSN."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from extplane.audit.config import DEFAULT_DATABASE_FILE
from extplane.audit.postgres_store import PostgresAuditStore
from extplane.audit.sqlite_store import SqliteAuditStore
from extplane.audit.store import AuditStore
from extplane.storage import resolve_store


def open_store(
    database_url: str | None, data_dir: Path, *, clock_ns: Callable[[], int] = time.time_ns
) -> AuditStore:
    """The store `database_url` names (not yet opened); `clock_ns` stamps receive times."""
    location = resolve_store(database_url, data_dir, DEFAULT_DATABASE_FILE)
    if location.dialect == "postgres":
        assert location.postgres_dsn is not None
        return PostgresAuditStore(
            location.postgres_dsn, description=location.describe(), clock_ns=clock_ns
        )
    assert location.sqlite_path is not None
    return SqliteAuditStore(location.sqlite_path, clock_ns=clock_ns)
