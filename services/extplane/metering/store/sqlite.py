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
from extplane.metering.store.sql import (
    RAISE_HORIZON,
    SELECT_HORIZON,
    events_sql,
    insert_sql,
    usage_row,
    usage_sql,
)
from extplane.storage import SqliteStore


class SqliteMeteringStore(SqliteStore):
    component = COMPONENT
    migrations = MIGRATIONS

    def __init__(self, path: Path) -> None:
        super().__init__(path)

    async def raise_horizon(self, horizon_ns: int) -> None:
        await self.db.write(partial(_raise_horizon, horizon_ns))

    async def ingest(self, requests: Sequence[Sequence[EventRow]]) -> list[IngestOutcome]:
        return await self.db.write(partial(self._ingest, requests))

    def _ingest(
        self, requests: Sequence[Sequence[EventRow]], conn: sqlite3.Connection
    ) -> list[IngestOutcome]:
        # In the write transaction: a prune cannot raise it between this read
        # and the insert.
        (horizon_ns,) = conn.execute(SELECT_HORIZON).fetchone()
        kept, expired = split_expired(requests, horizon_ns)
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
            count = await self.db.write(partial(self._prune, before_ns, chunk))
            deleted += count
            if count < chunk:
                return deleted

    def _prune(self, before_ns: int, chunk: int, conn: sqlite3.Connection) -> int:
        _raise_horizon(before_ns, conn)
        cursor = conn.execute(
            f"DELETE FROM {TABLE} WHERE seq IN (SELECT seq FROM {TABLE} WHERE ts_ns < ? LIMIT ?)",
            (before_ns, chunk),
        )
        return cursor.rowcount

    async def usage(self, query: UsageQuery) -> list[UsageRow]:
        sql, params = usage_sql(query)

        def read(conn: sqlite3.Connection) -> list[UsageRow]:
            return [usage_row(row, query) for row in conn.execute(sql, params)]

        return await self.db.read(read)

    async def list_events(self, query: EventsQuery) -> list[StoredRow]:
        sql, params = events_sql(query)

        def read(conn: sqlite3.Connection) -> list[StoredRow]:
            return [StoredRow(row[0], row[1:-1], row[-1]) for row in conn.execute(sql, params)]

        return await self.db.read(read)


def _raise_horizon(horizon_ns: int, conn: sqlite3.Connection) -> None:
    conn.execute(RAISE_HORIZON, (horizon_ns, horizon_ns))
