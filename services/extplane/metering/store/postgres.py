"""The metering store on PostgreSQL: several replicas may share one database.

Each ingest is one INSERT … SELECT FROM unnest(column arrays): one statement
and one round trip per transaction, however many rows. Dedup is the unique
index: concurrent replicas inserting the same (namespace, event_id) serialise
on it and exactly one row is stored.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from itertools import chain

import asyncpg

from extplane.metering.event_rows import COLUMNS, EventRow, StoredRow
from extplane.metering.store import EventsQuery, IngestOutcome, UsageQuery, UsageRow
from extplane.metering.store.outcomes import outcomes, split_expired
from extplane.metering.store.schema import COMPONENT, MIGRATIONS, TABLE
from extplane.metering.store.sql import events_sql, usage_sql
from extplane.storage import create_pool, describe_dsn, migrate_postgres, postgres_sql

_TYPES = ("bigint", "text", "text", "text", "text", "bigint", "bigint", "bigint", "bigint", "text")
_INSERT = (
    f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, received_ns)"
    f" SELECT u.*, ${len(COLUMNS) + 1}::bigint FROM unnest("
    + ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(_TYPES, start=1))
    + ") AS u ON CONFLICT DO NOTHING RETURNING namespace, event_id"
)


class PostgresMeteringStore:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._pool: asyncpg.Pool | None = None
        self._horizon_ns: int | None = None

    @property
    def description(self) -> str:
        return describe_dsn(self._dsn)

    def _connected(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("metering store is not open")
        return self._pool

    async def open(self) -> None:
        self._pool = await create_pool(self._dsn)
        await migrate_postgres(self._pool, COMPONENT, MIGRATIONS)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def set_horizon(self, horizon_ns: int) -> None:
        if self._horizon_ns is None or horizon_ns > self._horizon_ns:
            self._horizon_ns = horizon_ns

    async def ingest(self, requests: Sequence[Sequence[EventRow]]) -> list[IngestOutcome]:
        kept, expired = split_expired(requests, self._horizon_ns)
        rows = list(chain.from_iterable(kept))
        if not rows:
            return outcomes(kept, expired, None)
        columns = [list(column) for column in zip(*rows, strict=True)]
        async with self._connected().acquire() as conn, conn.transaction():
            stored = await conn.fetch(_INSERT, *columns, time.time_ns())
        if len(stored) == len(rows):
            return outcomes(kept, expired, None)
        # The first occurrence of a stored key is the stored one; rows without
        # an id are always stored.
        fresh = Counter(
            (r["namespace"], r["event_id"]) for r in stored if r["event_id"] is not None
        )
        inserted: list[list[bool]] = []
        for request in kept:
            flags: list[bool] = []
            for row in request:
                key = (row[1], row[9])
                if row[9] is None:
                    flags.append(True)
                elif fresh[key] > 0:
                    fresh[key] -= 1
                    flags.append(True)
                else:
                    flags.append(False)
            inserted.append(flags)
        return outcomes(kept, expired, inserted)

    async def prune(self, before_ns: int, *, chunk: int = 10_000) -> int:
        self.set_horizon(before_ns)
        deleted = 0
        while True:
            async with self._connected().acquire() as conn:
                status = await conn.execute(
                    f"DELETE FROM {TABLE} WHERE seq IN"
                    f" (SELECT seq FROM {TABLE} WHERE ts_ns < $1 LIMIT $2)",
                    before_ns,
                    chunk,
                )
            count = int(status.rsplit(" ", 1)[1])
            deleted += count
            if count < chunk:
                return deleted

    async def usage(self, query: UsageQuery) -> list[UsageRow]:
        sql, params = usage_sql(query)
        sql = postgres_sql(sql)
        width = len(query.group_by)
        async with self._connected().acquire() as conn:
            records = await conn.fetch(sql, *params)
        # SUM(bigint) is numeric on PostgreSQL: back to int.
        return [
            UsageRow(
                int(r[0]) if query.window_ns is not None else query.start_ns,
                tuple(r[1 : 1 + width]),
                r[1 + width],
                *(int(value) for value in r[2 + width :]),
            )
            for r in records
        ]

    async def list_events(self, query: EventsQuery) -> list[StoredRow]:
        sql, params = events_sql(query)
        sql = postgres_sql(sql)
        async with self._connected().acquire() as conn:
            records = await conn.fetch(sql, *params)
        return [StoredRow(r[0], tuple(r[1:-1]), r[-1]) for r in records]
