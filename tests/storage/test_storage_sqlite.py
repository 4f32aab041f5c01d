"""SqliteDatabase: writes in transactions on one thread, snapshot reads, durable settings."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from extplane.storage import SqliteDatabase


async def _open(path: Path) -> SqliteDatabase:
    db = SqliteDatabase(path)
    await db.open()
    await db.write(lambda c: c.execute("CREATE TABLE t (v INTEGER)"))
    return db


async def test_a_write_commits_and_is_visible_to_a_new_connection(tmp_path: Path) -> None:
    db = await _open(tmp_path / "nested" / "a.db")
    await db.write(lambda c: c.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)]))
    await db.close()
    with sqlite3.connect(tmp_path / "nested" / "a.db") as other:
        assert other.execute("SELECT sum(v) FROM t").fetchone() == (3,)


async def test_a_failing_write_rolls_back_entirely(tmp_path: Path) -> None:
    db = await _open(tmp_path / "a.db")

    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES (1)")
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        await db.write(half_then_fail)
    assert await db.read(lambda c: c.execute("SELECT count(*) FROM t").fetchone()) == (0,)
    await db.close()


async def test_writes_run_on_one_thread_and_reads_elsewhere(tmp_path: Path) -> None:
    db = await _open(tmp_path / "a.db")
    writers = await asyncio.gather(*(db.write(lambda _c: threading.get_ident()) for _ in range(20)))
    reader = await db.read(lambda _c: threading.get_ident())
    assert len(set(writers)) == 1
    assert reader not in writers
    await db.close()


async def test_durability_settings_are_wal_and_full_sync(tmp_path: Path) -> None:
    db = await _open(tmp_path / "a.db")
    mode = await db.write(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
    sync = await db.write(lambda c: c.execute("PRAGMA synchronous").fetchone()[0])
    assert (mode, sync) == ("wal", 2)  # 2 = FULL
    await db.close()


async def test_readers_cannot_write(tmp_path: Path) -> None:
    db = await _open(tmp_path / "a.db")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await db.read(lambda c: c.execute("INSERT INTO t VALUES (1)"))
    await db.close()


async def test_a_closed_database_refuses_work(tmp_path: Path) -> None:
    db = await _open(tmp_path / "a.db")
    await db.close()
    with pytest.raises(RuntimeError, match="not open"):
        await db.write(lambda c: None)


async def test_a_failed_commit_leaves_the_writer_usable(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "a.db")
    await db.open()
    await db.write(lambda c: c.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
    await db.write(
        lambda c: c.execute(
            "CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    )
    # The deferred foreign key fails at COMMIT, not at the INSERT.
    with pytest.raises(sqlite3.IntegrityError):
        await db.write(lambda c: c.execute("INSERT INTO child VALUES (1)"))
    await db.write(lambda c: c.execute("INSERT INTO parent VALUES (1)"))
    assert await db.read(lambda c: c.execute("SELECT count(*) FROM child").fetchone()) == (0,)
    await db.close()


async def test_an_inline_read_runs_on_the_loops_thread_and_sees_committed_writes(
    tmp_path: Path,
) -> None:
    db = await _open(tmp_path / "a.db")
    await db.write(lambda c: c.execute("INSERT INTO t VALUES (7)"))
    here = threading.get_ident()

    where, rows = await db.read_inline(
        lambda c: (threading.get_ident(), c.execute("SELECT v FROM t").fetchall())
    )
    await db.write(lambda c: c.execute("INSERT INTO t VALUES (8)"))
    again = await db.read_inline(lambda c: c.execute("SELECT count(*) FROM t").fetchone())

    assert (where, rows) == (here, [(7,)])
    assert again == (2,)  # a new snapshot per read, not one held open
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await db.read_inline(lambda c: c.execute("INSERT INTO t VALUES (1)"))
    await db.close()
    with pytest.raises(RuntimeError, match="not open"):
        await db.read_inline(lambda c: None)


async def test_an_inline_read_that_meets_a_lock_runs_on_a_reader_thread(tmp_path: Path) -> None:
    db = await _open(tmp_path / "a.db")
    here = threading.get_ident()
    threads: list[int] = []

    def read(conn: sqlite3.Connection) -> int:
        threads.append(threading.get_ident())
        if len(threads) == 1:
            # What SQLite raises when a lock is held and the connection may not wait.
            busy = sqlite3.OperationalError("database is locked")
            busy.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
            raise busy
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])

    assert await db.read_inline(read) == 0
    assert threads[0] == here
    assert threads[1] != here  # the loop did not wait: a reader thread did
    await db.close()
