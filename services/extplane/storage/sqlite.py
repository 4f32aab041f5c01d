"""SQLite with one writer thread and a few reader threads.

SQLite allows one writer at a time, so every write runs on one dedicated
thread in `BEGIN IMMEDIATE … COMMIT`; WAL lets readers on other threads see a
consistent snapshot meanwhile. `synchronous=FULL` makes a commit durable
before it returns, which is what an acknowledgement promises; group commit
(see `GroupCommitter`) is how that stays fast.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from extplane.storage.private_files import touch_private_file

T = TypeVar("T")

_BUSY_TIMEOUT_MS = 10_000
# Reads in flight at once; more would only contend for the GIL on two cores.
_READERS = 2
_LOCK_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class SqliteDatabase:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer_pool: ThreadPoolExecutor | None = None
        self._reader_pool: ThreadPoolExecutor | None = None
        self._writer: sqlite3.Connection | None = None
        self._reader_local = threading.local()
        self._reader_connections: list[sqlite3.Connection] = []
        self._inline: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(
        self, *, query_only: bool, busy_timeout_ms: int = _BUSY_TIMEOUT_MS
    ) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so the module
        # never opens a transaction behind our back.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        conn.execute("PRAGMA foreign_keys=ON")
        if query_only:
            conn.execute("PRAGMA query_only=ON")
        else:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
        return conn

    async def open(self) -> None:
        touch_private_file(self.path)
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix=f"sqlite-w-{self.path.name}")
        self._reader_pool = ThreadPoolExecutor(
            _READERS, thread_name_prefix=f"sqlite-r-{self.path.name}"
        )
        loop = asyncio.get_running_loop()
        self._writer = await loop.run_in_executor(
            self._writer_pool, lambda: self._connect(query_only=False)
        )

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        if self._writer_pool is not None:
            writer = self._writer
            if writer is not None:
                await loop.run_in_executor(self._writer_pool, writer.close)
            await loop.run_in_executor(None, self._writer_pool.shutdown)
            self._writer_pool = None
            self._writer = None
        if self._reader_pool is not None:
            await loop.run_in_executor(None, self._reader_pool.shutdown)
            self._reader_pool = None
        with self._lock:
            for conn in self._reader_connections:
                conn.close()
            self._reader_connections.clear()
        self._reader_local = threading.local()
        self._inline = None

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` in one write transaction; it commits when `fn` returns."""
        if self._writer_pool is None or self._writer is None:
            raise RuntimeError(f"database {self.path} is not open")
        conn = self._writer
        return await asyncio.get_running_loop().run_in_executor(
            self._writer_pool, _in_transaction, conn, "BEGIN IMMEDIATE", fn
        )

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(conn)` on a read-only connection, in one snapshot."""
        if self._reader_pool is None:
            raise RuntimeError(f"database {self.path} is not open")
        return await asyncio.get_running_loop().run_in_executor(self._reader_pool, self._read, fn)

    async def read_inline(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a short read, `fn` looking a few rows up by key, on the event loop's
        own thread, in one snapshot.

        Handing a point read to a reader thread costs more than the read itself
        (the host's storage Get measured 0.43 -> 0.69 of a bare servicer without the
        hop). The loop must never wait on SQLite, so this connection does not wait
        for locks: a read that meets one (rare under WAL) runs on the reader
        threads instead. Only for reads bounded by an index lookup.
        """
        if self._reader_pool is None:
            raise RuntimeError(f"database {self.path} is not open")
        conn = self._inline
        if conn is None:
            conn = self._connect(query_only=True, busy_timeout_ms=0)
            self._inline = conn
            with self._lock:
                self._reader_connections.append(conn)
        try:
            return _in_transaction(conn, "BEGIN", fn)
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", None) not in _LOCK_CODES:
                raise
        return await self.read(fn)

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn: sqlite3.Connection | None = getattr(self._reader_local, "conn", None)
        if conn is None:
            conn = self._connect(query_only=True)
            self._reader_local.conn = conn
            with self._lock:
                self._reader_connections.append(conn)
        return _in_transaction(conn, "BEGIN", fn)


def _in_transaction(
    conn: sqlite3.Connection, begin: str, fn: Callable[[sqlite3.Connection], T]
) -> T:
    conn.execute(begin)
    try:
        result = fn(conn)
        # Inside the try: a COMMIT that fails (busy, a deferred constraint) can
        # leave the transaction open, and the next BEGIN would then fail forever.
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may have rolled back already (disk full, I/O error); a second
        # ROLLBACK would hide the real error.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result
