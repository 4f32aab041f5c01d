"""The metering store on an embedded SQLite file (the default)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from functools import partial
from itertools import chain
from pathlib import Path

from extplane.metering.event_rows import EventRow, StoredRow
from extplane.metering.store import EventsQuery, IngestOutcome, UsageQuery, UsageRow
from extplane.metering.store.outcomes import outcomes, split_expired
from extplane.metering.store.schema import COMPONENT, MIGRATIONS, TABLE
from extplane.metering.store.sql import events_sql, insert_sql, usage_sql
from extplane.storage import SqliteDatabase, migrate_sqlite


class SqliteMeteringStore:
    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path)
        self._opened = False
        # Read and raised on the writer thread only (in `_ingest` and `_prune`),
        # so an insert never slips in behind a prune that has passed its rows.
        self._horizon_ns: int | None = None

    @property
    def description(self) -> str:
        return f"sqlite:{self._db.path}"

    async def open(self) -> None:
        await self._db.open()
        self._opened = True
        await migrate_sqlite(self._db, COMPONENT, MIGRATIONS)

    async def close(self) -> None:
        if self._opened:
            self._opened = False
            await self._db.close()

    def set_horizon(self, horizon_ns: int) -> None:
        if self._horizon_ns is None or horizon_ns > self._horizon_ns:
            self._horizon_ns = horizon_ns

    async def ingest(self, requests: Sequence[Sequence[EventRow]]) -> list[IngestOutcome]:
        return await self._db.write(partial(self._ingest, requests))

    def _ingest(
        self, requests: Sequence[Sequence[EventRow]], conn: sqlite3.Connection
    ) -> list[IngestOutcome]:
        kept, expired = split_expired(requests, self._horizon_ns)
        total = sum(len(rows) for rows in kept)
        sql = insert_sql(time.time_ns())
        conn.execute("SAVEPOINT ingest")
        before = conn.total_changes
        conn.executemany(sql, kept[0] if len(kept) == 1 else chain.from_iterable(kept))
        if conn.total_changes - before == total:
            conn.execute("RELEASE ingest")
            return outcomes(kept, expired, None)
        # Some rows were duplicates (rare: retries). Redo row by row to learn which.
        conn.execute("ROLLBACK TO ingest")
        inserted = [[conn.execute(sql, row).rowcount == 1 for row in rows] for rows in kept]
        conn.execute("RELEASE ingest")
        return outcomes(kept, expired, inserted)

    async def prune(self, before_ns: int, *, chunk: int = 10_000) -> int:
        deleted = 0
        while True:
            count = await self._db.write(partial(self._prune, before_ns, chunk))
            deleted += count
            if count < chunk:
                return deleted

    def _prune(self, before_ns: int, chunk: int, conn: sqlite3.Connection) -> int:
        self.set_horizon(before_ns)
        cursor = conn.execute(
            f"DELETE FROM {TABLE} WHERE seq IN (SELECT seq FROM {TABLE} WHERE ts_ns < ? LIMIT ?)",
            (before_ns, chunk),
        )
        return cursor.rowcount

    async def usage(self, query: UsageQuery) -> list[UsageRow]:
        sql, params = usage_sql(query)
        width = len(query.group_by)

        def read(conn: sqlite3.Connection) -> list[UsageRow]:
            return [
                UsageRow(
                    row[0] if query.window_ns is not None else query.start_ns,
                    tuple(row[1 : 1 + width]),
                    row[1 + width],
                    *row[2 + width :],
                )
                for row in conn.execute(sql, params)
            ]

        return await self._db.read(read)

    async def list_events(self, query: EventsQuery) -> list[StoredRow]:
        sql, params = events_sql(query)

        def read(conn: sqlite3.Connection) -> list[StoredRow]:
            return [StoredRow(row[0], row[1:-1], row[-1]) for row in conn.execute(sql, params)]

        return await self._db.read(read)
