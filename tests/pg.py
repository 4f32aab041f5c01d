"""A fresh PostgreSQL schema per test, on the server at 127.0.0.1:5432.

Tests that need PostgreSQL fail, never skip, when it is unreachable: CI runs
them against the machine's server (`.ci/run` starts it when it is down).
`EXTPLANE_TEST_POSTGRES_DSN` points them at another server.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
import pytest

ADMIN_DSN = os.environ.get(
    "EXTPLANE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)


async def _execute(sql: str) -> None:
    try:
        conn = await asyncpg.connect(ADMIN_DSN, timeout=10)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.fail(
            f"PostgreSQL at {ADMIN_DSN} is unreachable ({error!r}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_schema() -> str:
    """A new empty schema; returns a DSN whose connections use it."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    asyncio.run(_execute(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in ADMIN_DSN else "?"
    return f"{ADMIN_DSN}{separator}search_path={schema}"


def drop_schema(dsn: str) -> None:
    schema = dsn.rsplit("search_path=", 1)[1]
    asyncio.run(_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
