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

from extplane.metering.event_rows import COLUMNS, EventRow, StoredRow
from extplane.metering.store import EventsQuery, IngestOutcome, UsageQuery, UsageRow
from extplane.metering.store.outcomes import outcomes, split_expired
from extplane.metering.store.schema import COMPONENT, MIGRATIONS, TABLE
from extplane.metering.store.sql import (
    RAISE_HORIZON,
    SELECT_HORIZON,
    events_sql,
    usage_row,
    usage_sql,
)
from extplane.storage import PostgresStore, postgres_sql

_TYPES = ("bigint", "text", "text", "text", "text", "bigint", "bigint", "bigint", "bigint", "text")
_INSERT = (
    f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, received_ns)"
    f" SELECT u.*, ${len(COLUMNS) + 1}::bigint FROM unnest("
    + ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(_TYPES, start=1))
    + ") AS u ON CONFLICT DO NOTHING RETURNING namespace, event_id"
)


_LOCK_HORIZON = postgres_sql(f"{SELECT_HORIZON} FOR SHARE")
_RAISE_HORIZON = postgres_sql(RAISE_HORIZON)


class PostgresMeteringStore(PostgresStore):
    component = COMPONENT
    migrations = MIGRATIONS

    async def raise_horizon(self, horizon_ns: int) -> None:
        await self.pool.execute(_RAISE_HORIZON, horizon_ns, horizon_ns)

    async def ingest(self, requests: Sequence[Sequence[EventRow]]) -> list[IngestOutcome]:
        async with self.pool.acquire() as conn, conn.transaction():
            # A shared lock on the horizon row: a prune raising it waits for this
            # transaction, and this one reads what a prune committed before it.
            horizon_ns = await conn.fetchval(_LOCK_HORIZON)
            kept, expired = split_expired(requests, horizon_ns)
            rows = list(chain.from_iterable(kept))
            if not rows:
                return outcomes(kept, expired, None)
            columns = [list(column) for column in zip(*rows, strict=True)]
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
        # Committed before anything is deleted: from then on every replica's
        # ingest expires what this prune removes.
        await self.raise_horizon(before_ns)
        deleted = 0
        while True:
            async with self.pool.acquire() as conn:
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
        async with self.pool.acquire() as conn:
            records = await conn.fetch(postgres_sql(sql), *params)
        return [usage_row(tuple(record), query) for record in records]

    async def list_events(self, query: EventsQuery) -> list[StoredRow]:
        sql, params = events_sql(query)
        sql = postgres_sql(sql)
        async with self.pool.acquire() as conn:
            records = await conn.fetch(sql, *params)
        return [StoredRow(r[0], tuple(r[1:-1]), r[-1]) for r in records]
