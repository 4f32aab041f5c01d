"""Versioned migrations on both backends: applied once, in order, newer refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from extplane.storage import (
    Migration,
    MigrationError,
    SqliteDatabase,
    create_pool,
    migrate_postgres,
    migrate_sqlite,
)

STEPS = [
    Migration(
        1,
        "items",
        sqlite=["CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)"],
        postgres=["CREATE TABLE items (id BIGSERIAL PRIMARY KEY, v TEXT)"],
    ),
    Migration(
        2,
        "index",
        sqlite=["ALTER TABLE items ADD COLUMN w INTEGER", "CREATE INDEX items_w ON items (w)"],
        postgres=["ALTER TABLE items ADD COLUMN w INTEGER", "CREATE INDEX items_w ON items (w)"],
    ),
]


async def test_sqlite_applies_each_version_once(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "m.db")
    await db.open()
    assert await migrate_sqlite(db, "demo", STEPS[:1]) == [1]
    assert await migrate_sqlite(db, "demo", STEPS) == [2]
    assert await migrate_sqlite(db, "demo", STEPS) == []
    # Another component's history is its own.
    assert await migrate_sqlite(db, "other", []) == []
    await db.write(lambda c: c.execute("INSERT INTO items (v, w) VALUES ('a', 1)"))
    await db.close()


async def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "m.db")
    await db.open()
    await migrate_sqlite(db, "demo", STEPS)
    with pytest.raises(MigrationError, match="version 2, newer than this build knows"):
        await migrate_sqlite(db, "demo", STEPS[:1])
    await db.close()


async def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    broken = [*STEPS[:1], Migration(2, "bad", sqlite=["ALTER TABLE nope ADD x"], postgres=[])]
    db = SqliteDatabase(tmp_path / "m.db")
    await db.open()
    await migrate_sqlite(db, "demo", STEPS[:1])
    with pytest.raises(Exception, match="nope"):
        await migrate_sqlite(db, "demo", broken)
    assert await migrate_sqlite(db, "demo", STEPS) == [2]
    await db.close()


def test_versions_must_count_from_one() -> None:
    db = SqliteDatabase(Path("unused.db"))
    with pytest.raises(MigrationError, match="1, 2, 3"):
        asyncio.run(migrate_sqlite(db, "demo", STEPS[1:]))


async def test_postgres_replicas_starting_together_migrate_once(postgres_dsn: str) -> None:
    pools = [await create_pool(postgres_dsn, max_size=2) for _ in range(3)]
    try:
        applied = await asyncio.gather(*(migrate_postgres(p, "demo", STEPS) for p in pools))
        assert sorted(applied) == [[], [], [1, 2]]
        async with pools[0].acquire() as conn:
            await conn.execute("INSERT INTO items (v, w) VALUES ('a', 1)")
            versions = await conn.fetch(
                "SELECT version FROM extplane_schema_migrations WHERE component = 'demo'"
                " ORDER BY version"
            )
        assert [r["version"] for r in versions] == [1, 2]
        with pytest.raises(MigrationError, match="newer"):
            await migrate_postgres(pools[1], "demo", STEPS[:1])
    finally:
        for pool in pools:
            await pool.close()


async def test_components_sharing_a_fresh_postgres_migrate_together(postgres_dsn: str) -> None:
    """Metering and audit starting at once on one new database both come up (they
    used to race to create the migrations table and one failed)."""
    other = [
        Migration(
            1,
            "things",
            sqlite=["CREATE TABLE things (id INTEGER PRIMARY KEY)"],
            postgres=["CREATE TABLE things (id BIGSERIAL PRIMARY KEY)"],
        )
    ]
    pools = [await create_pool(postgres_dsn, max_size=2) for _ in range(4)]
    try:
        applied = await asyncio.gather(
            migrate_postgres(pools[0], "demo", STEPS),
            migrate_postgres(pools[1], "other", other),
            migrate_postgres(pools[2], "demo", STEPS),
            migrate_postgres(pools[3], "other", other),
        )
        assert sorted(applied) == [[], [], [1], [1, 2]]
    finally:
        for pool in pools:
            await pool.close()
