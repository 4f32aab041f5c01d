"""The audit store on an embedded SQLite file (the default).

Every append runs on the database's single writer thread, in one
`BEGIN IMMEDIATE` transaction that reads the head, chains and inserts: one
chain, even with another process on the same file. Reads run on reader
threads in WAL snapshots, so a verification or an export never blocks
appends.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

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
from extplane.audit.store.canonical_sql import SQLITE_COLUMNS_AGREE
from extplane.audit.store.record_query import RecordQuery
from extplane.audit.store.schema import COMPONENT, MIGRATIONS
from extplane.storage import SqliteStore

_SELECT_CHAIN_ROWS = sql.select_chain_rows(lambda column: f"CAST({column} AS BLOB)")
_SELECT_CANONICAL_ROWS = sql.select_canonical_rows(
    lambda column: f"CAST(coalesce({column}, X'') AS BLOB)"
)
_SELECT_FIRST_DISAGREEING = sql.select_first_disagreeing(SQLITE_COLUMNS_AGREE)
# Keys per lookup (two parameters each): SQLite's default limit on host
# parameters is far above this.
_ID_LOOKUP_CHUNK = 250


class SqliteAuditStore(SqliteStore):
    """`clock_ns` stamps each record's receive time (ns since the epoch)."""

    component = COMPONENT
    migrations = MIGRATIONS

    def __init__(self, path: Path, *, clock_ns: Callable[[], int] = time.time_ns) -> None:
        super().__init__(path)
        self._clock_ns = clock_ns

    async def append(self, batches: Sequence[Sequence[NewEvent]]) -> AppendOutcome:
        return await self.db.write(partial(_append, batches, self._clock_ns))

    async def chain_head(self) -> ChainHead:
        return await self.db.read(_head)

    async def log_snapshot(self) -> LogSnapshot:
        return await self.db.read(_snapshot)

    async def chain_rows(self, after: int, through: int, limit: int) -> list[ChainRow]:
        def read(conn: sqlite3.Connection) -> list[ChainRow]:
            return conn.execute(_SELECT_CHAIN_ROWS, (after, through, limit)).fetchall()

        return await self.db.read(read)

    async def canonical_rows(self, after: int, through: int, limit: int) -> list[CanonicalRow]:
        def read(conn: sqlite3.Connection) -> list[CanonicalRow]:
            return conn.execute(_SELECT_CANONICAL_ROWS, (after, through, limit)).fetchall()

        return await self.db.read(read)

    async def hash_chunk(self, after: int, through: int) -> HashChunk:
        return await self.db.read(partial(_hash_chunk, after, through))

    async def first_disagreeing(self, after: int, through: int) -> int | None:
        # A reader thread of its own: SQLite runs the comparison without the
        # GIL, beside the walk hashing in another thread.
        def read(conn: sqlite3.Connection) -> int | None:
            row = conn.execute(_SELECT_FIRST_DISAGREEING, (after, through)).fetchone()
            return None if row is None else int(row[0])

        return await self.db.read(read)

    async def sequences_with_hash(self, digest: bytes) -> list[int]:
        return await self.db.read(partial(_sequences, sql.SELECT_BY_HASH, digest))

    async def sequences_with_previous_hash(self, digest: bytes) -> list[int]:
        return await self.db.read(partial(_sequences, sql.SELECT_BY_PREVIOUS_HASH, digest))

    async def list_records(self, query: RecordQuery) -> list[StoredRecord]:
        text, values = query.sql()

        def read(conn: sqlite3.Connection) -> list[StoredRecord]:
            return [StoredRecord._make(row) for row in conn.execute(text, values)]

        return await self.db.read(read)

    async def add_checkpoint(self, checkpoint: Checkpoint) -> bool:
        def write(conn: sqlite3.Connection) -> bool:
            return conn.execute(sql.INSERT_CHECKPOINT, checkpoint).rowcount == 1

        return await self.db.write(write)

    async def latest_checkpoint(self) -> Checkpoint | None:
        def read(conn: sqlite3.Connection) -> Checkpoint | None:
            row = conn.execute(sql.SELECT_LATEST_CHECKPOINT).fetchone()
            return None if row is None else Checkpoint._make(row)

        return await self.db.read(read)

    async def checkpoint_key_ids(self) -> list[str]:
        def read(conn: sqlite3.Connection) -> list[str]:
            return [row[0] for row in conn.execute(sql.SELECT_CHECKPOINT_KEY_IDS)]

        return await self.db.read(read)

    async def list_checkpoints(self, after: int, limit: int) -> list[Checkpoint]:
        def read(conn: sqlite3.Connection) -> list[Checkpoint]:
            rows = conn.execute(sql.SELECT_CHECKPOINTS_AFTER, (after, limit))
            return [Checkpoint._make(row) for row in rows]

        return await self.db.read(read)

    async def prune_point(self, cutoff_ns: int, max_records: int) -> int | None:
        return await self.db.read(partial(_prune_point, cutoff_ns, max_records))

    async def prune(self, through: int, event: PruneEventFactory) -> PruneOutcome | None:
        return await self.db.write(partial(_prune, through, event, self._clock_ns))


def _head(conn: sqlite3.Connection) -> ChainHead:
    sequence, digest = conn.execute(sql.SELECT_HEAD).fetchone()
    return ChainHead(sequence, digest)


def _stored_ids(conn: sqlite3.Connection, keys: list[IdKey]) -> dict[IdKey, int]:
    stored: dict[IdKey, int] = {}
    for start in range(0, len(keys), _ID_LOOKUP_CHUNK):
        chunk = keys[start : start + _ID_LOOKUP_CHUNK]
        found = conn.execute(sql.select_stored_ids(len(chunk)), [v for key in chunk for v in key])
        stored.update(((namespace, event_id), seq) for namespace, event_id, seq in found)
    return stored


def _append(
    batches: Sequence[Sequence[NewEvent]],
    clock_ns: Callable[[], int],
    conn: sqlite3.Connection,
) -> AppendOutcome:
    head = _head(conn)
    chained = chain_batches(batches, head, _stored_ids(conn, event_ids(batches)), clock_ns())
    if chained.rows:
        conn.executemany(sql.INSERT_RECORD, chained.rows)
        conn.execute(sql.UPDATE_HEAD, chained.head)
    return AppendOutcome(chained.results, chained.head)


def _snapshot(conn: sqlite3.Connection) -> LogSnapshot:
    oldest, newest = conn.execute(sql.SELECT_BOUNDS).fetchone()
    oldest, newest = oldest or 0, newest or 0
    checkpoints = [
        Checkpoint._make(row)
        for row in conn.execute(sql.SELECT_CHECKPOINTS_FROM, (max(oldest - 1, 0),))
    ]
    latest_prune = conn.execute(sql.SELECT_LATEST_PRUNE, (PRUNE_ACTION, PRUNE_ACTOR)).fetchone()
    return LogSnapshot(
        oldest=oldest,
        newest=newest,
        head=_head(conn),
        checkpoints=checkpoints,
        pruned_through=parse_pruned_through(None if latest_prune is None else latest_prune[0]),
    )


def _hash_chunk(after: int, through: int, conn: sqlite3.Connection) -> HashChunk:
    rows = conn.execute(sql.SELECT_HASH_ROWS, (after, through)).fetchall()
    first = conn.execute(sql.SELECT_PREVIOUS_HASH, (after + 1,)).fetchone()
    (bad_link,) = conn.execute(sql.SELECT_FIRST_BAD_LINK, (after + 1, through)).fetchone()
    return HashChunk(rows, None if first is None else first[0], bad_link)


def _sequences(statement: str, digest: bytes, conn: sqlite3.Connection) -> list[int]:
    return [row[0] for row in conn.execute(statement, (digest,))]


def _prune_point(cutoff_ns: int, max_records: int, conn: sqlite3.Connection) -> int | None:
    oldest, newest = conn.execute(sql.SELECT_BOUNDS).fetchone()
    if oldest is None:
        return None
    young = conn.execute(sql.SELECT_FIRST_YOUNG, (cutoff_ns,)).fetchone()
    last_old = (newest + 1 if young is None else young[0]) - 1
    if last_old < oldest:
        return None
    cap = min(last_old, oldest - 1 + max_records)
    (point,) = conn.execute(sql.SELECT_LAST_CHECKPOINT_IN, (oldest, cap)).fetchone()
    if point is None:
        (point,) = conn.execute(sql.SELECT_FIRST_CHECKPOINT_IN, (oldest, last_old)).fetchone()
    return point if point is None else int(point)


def _prune(
    through: int,
    event: PruneEventFactory,
    clock_ns: Callable[[], int],
    conn: sqlite3.Connection,
) -> PruneOutcome | None:
    (first,) = conn.execute(sql.SELECT_OLDEST).fetchone()
    if first is None or first > through:
        return None
    count = conn.execute(sql.DELETE_THROUGH, (through,)).rowcount
    # The prune is itself an audit event, chained like any other in the same
    # transaction (the DELETE leaves the head as it was).
    appended = _append([[event(first, through, count)]], clock_ns, conn)
    return PruneOutcome(first, through, count, appended.results[0][0].sequence, appended.head)
