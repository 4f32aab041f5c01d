"""The audit store on PostgreSQL, shared by any number of replicas.

An append locks the one-row `audit_head` (`SELECT … FOR UPDATE`) first, so
concurrent transactions — from this process's group committer and from
other replicas — take turns: each reads the head the previous one left,
looks up ids under the lock (READ COMMITTED: it sees every append committed
before it), chains, copies its rows in and moves the head, then commits and
releases the lock. Sequences are gap-free and the chain is one. The lock is
held until commit, so a reader never sees a record before the ones below it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from asyncpg.pool import PoolConnectionProxy

from extplane.audit.chain.appending import IdKey, chain_batches, event_ids
from extplane.audit.chain.records import (
    CanonicalRow,
    ChainHead,
    ChainRow,
    Checkpoint,
    HashChunk,
    LogSnapshot,
    NewEvent,
    StoredRecord,
)
from extplane.audit.store import (
    PRUNE_ACTION,
    PRUNE_ACTOR,
    AppendOutcome,
    PruneEventFactory,
    PruneOutcome,
    parse_pruned_through,
)
from extplane.audit.store import statements as sql
from extplane.audit.store.canonical_sql import POSTGRES_COLUMNS_AGREE
from extplane.audit.store.record_query import RecordQuery
from extplane.audit.store.schema import COMPONENT, MIGRATIONS, RECORD_COLUMNS, RECORDS
from extplane.storage import PostgresStore, postgres_sql

_LOCK_HEAD = postgres_sql(f"{sql.SELECT_HEAD} FOR UPDATE")
_SELECT_HEAD = postgres_sql(sql.SELECT_HEAD)
_UPDATE_HEAD = postgres_sql(sql.UPDATE_HEAD)
_SELECT_STORED_IDS = (
    f"SELECT r.namespace, r.event_id, r.sequence FROM {RECORDS} r"
    " JOIN unnest($1::text[], $2::text[]) AS k(namespace, event_id)"
    " ON r.namespace = k.namespace AND r.event_id = k.event_id"
)
_SELECT_CHAIN_ROWS = postgres_sql(
    sql.select_chain_rows(lambda column: f"convert_to({column}, 'UTF8')")
)
_SELECT_CANONICAL_ROWS = postgres_sql(
    sql.select_canonical_rows(lambda column: f"coalesce({column}, ''::bytea)")
)
_SELECT_HASH_ROWS = postgres_sql(sql.SELECT_HASH_ROWS)
_SELECT_FIRST_DISAGREEING = postgres_sql(sql.select_first_disagreeing(POSTGRES_COLUMNS_AGREE))


class PostgresAuditStore(PostgresStore):
    """`clock_ns` stamps each record's receive time (ns since the epoch)."""

    component = COMPONENT
    migrations = MIGRATIONS

    def __init__(self, dsn: str, *, clock_ns: Callable[[], int] = time.time_ns) -> None:
        super().__init__(dsn)
        self._clock_ns = clock_ns

    async def append(self, batches: Sequence[Sequence[NewEvent]]) -> AppendOutcome:
        async with self.pool.acquire() as conn, conn.transaction():
            return await _append_locked(conn, await _lock_head(conn), batches, self._clock_ns())

    async def chain_head(self) -> ChainHead:
        row = await self.pool.fetchrow(_SELECT_HEAD)
        assert row is not None  # the migration inserts it
        return ChainHead(row[0], row[1])

    async def log_snapshot(self) -> LogSnapshot:
        async with (
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            bounds = await conn.fetchrow(sql.SELECT_BOUNDS)
            assert bounds is not None
            oldest, newest = bounds[0] or 0, bounds[1] or 0
            head = await conn.fetchrow(_SELECT_HEAD)
            assert head is not None
            checkpoints = await conn.fetch(
                postgres_sql(sql.SELECT_CHECKPOINTS_FROM), max(oldest - 1, 0)
            )
            latest_prune = await conn.fetchval(
                postgres_sql(sql.SELECT_LATEST_PRUNE), PRUNE_ACTION, PRUNE_ACTOR
            )
        return LogSnapshot(
            oldest=oldest,
            newest=newest,
            head=ChainHead(head[0], head[1]),
            checkpoints=[Checkpoint(*row) for row in checkpoints],
            pruned_through=parse_pruned_through(latest_prune),
        )

    async def chain_rows(self, after: int, through: int, limit: int) -> list[ChainRow]:
        rows = await self.pool.fetch(_SELECT_CHAIN_ROWS, after, through, limit)
        return [tuple(row) for row in rows]

    async def canonical_rows(self, after: int, through: int, limit: int) -> list[CanonicalRow]:
        rows = await self.pool.fetch(_SELECT_CANONICAL_ROWS, after, through, limit)
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    async def first_disagreeing(self, after: int, through: int) -> int | None:
        # The server compares; this connection only waits beside the walk's.
        found = await self.pool.fetchval(_SELECT_FIRST_DISAGREEING, after, through)
        return None if found is None else int(found)

    async def hash_chunk(self, after: int, through: int) -> HashChunk:
        async with (
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            rows = await conn.fetch(_SELECT_HASH_ROWS, after, through)
            first = await conn.fetchval(postgres_sql(sql.SELECT_PREVIOUS_HASH), after + 1)
            bad_link = await conn.fetchval(
                postgres_sql(sql.SELECT_FIRST_BAD_LINK), after + 1, through
            )
        return HashChunk([(row[0], row[1]) for row in rows], first, bad_link)

    async def sequences_with_hash(self, digest: bytes) -> list[int]:
        return [row[0] for row in await self.pool.fetch(postgres_sql(sql.SELECT_BY_HASH), digest)]

    async def sequences_with_previous_hash(self, digest: bytes) -> list[int]:
        rows = await self.pool.fetch(postgres_sql(sql.SELECT_BY_PREVIOUS_HASH), digest)
        return [row[0] for row in rows]

    async def list_records(self, query: RecordQuery) -> list[StoredRecord]:
        text, values = query.sql()
        return [StoredRecord(*row) for row in await self.pool.fetch(postgres_sql(text), *values)]

    async def add_checkpoint(self, checkpoint: Checkpoint) -> bool:
        status = await self.pool.execute(postgres_sql(sql.INSERT_CHECKPOINT), *checkpoint)
        return status.endswith(" 1")

    async def latest_checkpoint(self) -> Checkpoint | None:
        row = await self.pool.fetchrow(sql.SELECT_LATEST_CHECKPOINT)
        return None if row is None else Checkpoint(*row)

    async def checkpoint_key_ids(self) -> list[str]:
        return [row[0] for row in await self.pool.fetch(sql.SELECT_CHECKPOINT_KEY_IDS)]

    async def list_checkpoints(self, after: int, limit: int) -> list[Checkpoint]:
        rows = await self.pool.fetch(postgres_sql(sql.SELECT_CHECKPOINTS_AFTER), after, limit)
        return [Checkpoint(*row) for row in rows]

    async def prune_point(self, cutoff_ns: int, max_records: int) -> int | None:
        async with (
            self.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            bounds = await conn.fetchrow(sql.SELECT_BOUNDS)
            assert bounds is not None
            oldest, newest = bounds
            if oldest is None:
                return None
            young = await conn.fetchval(postgres_sql(sql.SELECT_FIRST_YOUNG), cutoff_ns)
            last_old = (newest + 1 if young is None else young) - 1
            if last_old < oldest:
                return None
            cap = min(last_old, oldest - 1 + max_records)
            point = await conn.fetchval(postgres_sql(sql.SELECT_LAST_CHECKPOINT_IN), oldest, cap)
            if point is None:
                point = await conn.fetchval(
                    postgres_sql(sql.SELECT_FIRST_CHECKPOINT_IN), oldest, last_old
                )
        return None if point is None else int(point)

    async def prune(self, through: int, event: PruneEventFactory) -> PruneOutcome | None:
        async with self.pool.acquire() as conn, conn.transaction():
            head = await _lock_head(conn)
            first = await conn.fetchval(sql.SELECT_OLDEST)
            if first is None or first > through:
                return None
            status = await conn.execute(postgres_sql(sql.DELETE_THROUGH), through)
            count = int(status.rsplit(" ", 1)[1])
            # The prune is itself an audit event, chained in the same transaction.
            appended = await _append_locked(
                conn, head, [[event(first, through, count)]], self._clock_ns()
            )
        return PruneOutcome(first, through, count, appended.results[0][0].sequence, appended.head)


async def _lock_head(conn: PoolConnectionProxy) -> ChainHead:
    row = await conn.fetchrow(_LOCK_HEAD)
    assert row is not None  # the migration inserts it
    return ChainHead(row[0], row[1])


async def _append_locked(
    conn: PoolConnectionProxy,
    head: ChainHead,
    batches: Sequence[Sequence[NewEvent]],
    receive_ns: int,
) -> AppendOutcome:
    """Chain `batches` after `head`, which the caller's transaction holds locked."""
    stored = await _stored_ids(conn, event_ids(batches))
    chained = chain_batches(batches, head, stored, receive_ns)
    if chained.rows:
        await conn.copy_records_to_table(RECORDS, records=chained.rows, columns=RECORD_COLUMNS)
        await conn.execute(_UPDATE_HEAD, *chained.head)
    return AppendOutcome(chained.results, chained.head)


async def _stored_ids(conn: PoolConnectionProxy, keys: list[IdKey]) -> dict[IdKey, int]:
    if not keys:
        return {}
    namespaces, ids = zip(*keys, strict=True)
    rows = await conn.fetch(_SELECT_STORED_IDS, list(namespaces), list(ids))
    return {(row[0], row[1]): row[2] for row in rows}
