"""Benchmark the audit log's ingest and verification against raw SQLite, in one run.

    .venv/bin/python bench/audit.py           # about a minute
    .venv/bin/python bench/audit.py --quick   # a few seconds, rough figures

Rows (see bench/README.md):
(a) `store.batch.c8` / `store.batch.c1`: batches of events through the audit
    log's append path (group commit; each transaction reads the head, looks
    the ids up, hashes and chains every record, inserts, moves the head;
    durable SQLite) vs. the same group committer around a raw `executemany`
    of the same rows, unchained, into a table of the same schema in another
    file. 8 batches of 100 in flight, or 1 batch of 1000. The raw rows store
    no canonical bytes (an empty value): writing them is part of what the
    chained side pays for.
(b) `verify`: `VerifyAuditLog`'s work (`verify_log`) over a log of N records
    with a signed checkpoint every 1000 (the default) vs. reading what its
    walk reads (the same chunks of canonical bytes and hashes, the links
    checked in SQL) without hashing; one op is a whole pass, so events/s =
    ops/s x N. Also printed: one pass of the column check alone (the SQL that
    proves the query columns say what the canonical bytes say, which
    verification runs beside the walk).

Targets (issue 4): ingest ratio >= 0.5, verification >= 200,000 events/s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path

from _harness import BenchmarkError, Comparison, Plan, bench_arguments, compare, plan_from
from _report import format_table, run_header

from extplane.audit.chain.canonical import canonical_details
from extplane.audit.chain.records import NewEvent
from extplane.audit.chain.signing import CheckpointSigner
from extplane.audit.store.schema import COMPONENT, MIGRATIONS
from extplane.audit.store.sqlite import SqliteAuditStore
from extplane.audit.store.statements import INSERT_RECORD
from extplane.audit.verify.verifier import CHUNK_ROWS, verify_log
from extplane.keys import SigningKey
from extplane.storage import GroupCommitter, SqliteDatabase, migrate_sqlite

INGEST_TARGET = 0.5
VERIFY_TARGET = 200_000
VERIFY_RECORDS = {"full": 200_000, "quick": 20_000}
ZERO_HASH = bytes(32)

Op = Callable[[], Awaitable[object]]
# What a commit hands over: one batch of events per submitter.
Commit = Callable[[list[Sequence[NewEvent]]], Awaitable[list[int]]]


class EventSource:
    """Fresh, realistic events: unique UUID-like ids, a few actors and tools."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._details = [
            canonical_details({"tool": tool, "decision": "policy/allow-tools", "latency_ms": "12"})
            for tool in ("web_search", "code_exec", "file_read", "http_fetch")
        ]

    def batch(self, size: int) -> list[NewEvent]:
        now = time.time_ns()
        events = []
        for n in itertools.islice(self._counter, size):
            events.append(
                NewEvent(
                    event_id=f"0190a1b2-c3d4-7e5f-8a9b-{n:012x}",
                    timestamp_ns=now,
                    action="tool_invoke",
                    actor=f"agent:planner-{n % 16}",
                    resource=f"tool/{('web_search', 'code_exec', 'file_read')[n % 3]}",
                    namespace=f"team-{n % 8}",
                    outcome=("allowed", "allowed", "denied")[n % 3],
                    details=self._details[n % 4],
                    principal=f"ingest-{n % 4}",
                )
            )
        return events


class RawTable:
    """The baseline: the audit schema in its own durable SQLite file, rows
    inserted as they are (no head, no id lookup, no hashing, no chain)."""

    def __init__(self, path: Path) -> None:
        self._db = SqliteDatabase(path)
        self._sequence = itertools.count(1)

    async def open(self) -> None:
        await self._db.open()
        await migrate_sqlite(self._db, COMPONENT, MIGRATIONS)

    async def close(self) -> None:
        await self._db.close()

    async def insert(self, batches: list[Sequence[NewEvent]]) -> list[int]:
        return await self._db.write(partial(self._insert, batches))

    def _insert(self, batches: list[Sequence[NewEvent]], conn: sqlite3.Connection) -> list[int]:
        now = time.time_ns()
        rows = [
            (
                next(self._sequence),
                ts,
                now,
                eid,
                act,
                actor,
                res,
                ns,
                out,
                det,
                ZERO_HASH,
                ZERO_HASH,
                b"",
                principal,
                2,
            )
            for batch in batches
            for eid, ts, act, actor, res, ns, out, det, principal in batch
        ]
        conn.executemany(INSERT_RECORD, rows)
        return [len(batch) for batch in batches]


async def _chained(store: SqliteAuditStore, batches: list[Sequence[NewEvent]]) -> list[int]:
    outcome = await store.append(batches)
    return [sum(not a.duplicate for a in results) for results in outcome.results]


def batch_op(commit: Commit, source: EventSource, size: int) -> Op:
    committer: GroupCommitter[Sequence[NewEvent], int] = GroupCommitter(
        commit, max_weight=10_000, weight=len
    )

    async def op() -> int:
        stored = await committer.submit(source.batch(size))
        if stored != size:
            raise BenchmarkError(f"a batch of {size} stored {stored} events")
        return stored

    return op


@contextlib.asynccontextmanager
async def opened(store: SqliteAuditStore | RawTable) -> AsyncIterator[None]:
    await store.open()
    try:
        yield
    finally:
        await store.close()


async def ingest_rows(plan: Plan, work: Path, show: Callable[[str], None]) -> list[Comparison]:
    rows: list[Comparison] = []
    for name, concurrency, size in (("store.batch.c8", 8, 100), ("store.batch.c1", 1, 1000)):
        store = SqliteAuditStore(work / f"{name}.chained.db")
        raw = RawTable(work / f"{name}.raw.db")
        async with opened(store), opened(raw):
            subject = [batch_op(partial(_chained, store), EventSource(), size)] * concurrency
            baseline = [batch_op(raw.insert, EventSource(), size)] * concurrency
            row = await compare(name, subject, baseline, plan=plan)
        show(
            f"  measured {name}: {row.subject.ops_per_s * size:.0f} vs "
            f"{row.baseline.ops_per_s * size:.0f} events/s, ratio {row.ratio:.2f}"
        )
        rows.append(row)
    return rows


async def populate(store: SqliteAuditStore, signer: CheckpointSigner, records: int) -> None:
    """`records` records, checkpointed every 1000 as the service does by default."""
    source = EventSource()
    for _ in range(0, records, 10_000):
        outcome = await store.append([source.batch(1000) for _ in range(10)])
        ends = [results[-1].sequence for results in outcome.results]
        rows = {row[0]: row for row in await store.chain_rows(ends[0] - 1000, ends[-1], 10_000)}
        for sequence in ends:
            await store.add_checkpoint(signer.sign(sequence, rows[sequence][11], time.time_ns()))


def verify_op(store: SqliteAuditStore, signer: CheckpointSigner, records: int) -> Op:
    async def op() -> int:
        verdict = await verify_log(store, signer)
        checkpoints = records // 1000
        if not verdict.intact or (verdict.records_verified, verdict.checkpoints_verified) != (
            records,
            checkpoints,
        ):
            raise BenchmarkError(f"verification failed: {verdict}")
        return verdict.records_verified

    return op


async def column_check_pass(store: SqliteAuditStore, records: int) -> float:
    """Seconds of one pass of the column check alone, chunk by chunk."""
    started = time.perf_counter()
    for after in range(0, records, CHUNK_ROWS):
        found = await store.first_disagreeing(after, min(after + CHUNK_ROWS, records))
        if found is not None:
            raise BenchmarkError(f"the columns of record {found} disagree with its bytes")
    return time.perf_counter() - started


def read_op(store: SqliteAuditStore, records: int) -> Op:
    """What the verifier reads, chunk by chunk, without hashing it."""

    async def op() -> int:
        seen = 0
        for after in range(0, records, CHUNK_ROWS):
            chunk = await store.hash_chunk(after, min(after + CHUNK_ROWS, records))
            seen += len(chunk.rows)
        if seen != records:
            raise BenchmarkError(f"read {seen} of {records} rows")
        return seen

    return op


async def verify_row(
    plan: Plan, records: int, work: Path, show: Callable[[str], None]
) -> Comparison:
    store = SqliteAuditStore(work / "verify.db")
    signer = CheckpointSigner(SigningKey.generate())
    async with opened(store):
        started = time.perf_counter()
        await populate(store, signer, records)
        show(f"  populated {records} records in {time.perf_counter() - started:.1f} s")
        row = await compare(
            "verify", [verify_op(store, signer, records)], [read_op(store, records)], plan=plan
        )
        checking = min([await column_check_pass(store, records) for _ in range(3)])
    show(
        f"  measured verify: {row.subject.ops_per_s * records:.0f} events/s "
        f"(reading alone {row.baseline.ops_per_s * records:.0f}/s, "
        f"column check alone {records / checking:.0f}/s)"
    )
    return row


def targets(ingest: Sequence[Comparison], verify: Comparison, records: int) -> list[str]:
    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    lines = ["", "targets (issue 4):"]
    for row in ingest:
        lines.append(
            f"  {row.name}: ingest ratio {row.ratio:.2f} (>= {INGEST_TARGET}): "
            f"{verdict(row.ratio >= INGEST_TARGET)}"
        )
    speed = verify.subject.ops_per_s * records
    lines.append(
        f"  verify: {speed:.0f} events/s over {records} records (>= {VERIFY_TARGET}): "
        f"{verdict(speed >= VERIFY_TARGET)}"
    )
    return lines


def _print(line: str) -> None:
    print(line, flush=True)


async def run(plan: Plan, records: int, work: Path) -> list[str]:
    ingest = await ingest_rows(plan, work, _print)
    verify = await verify_row(plan, records, work, _print)
    return ["", format_table([*ingest, verify]), *targets(ingest, verify, records)]


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__.splitlines()[0] if __doc__ else "").parse_args(argv)
    plan = plan_from(args)
    records = VERIFY_RECORDS["quick" if args.quick else "full"]
    for name in [n for n in os.environ if n.startswith("EXTPLANE_")]:
        del os.environ[name]
    notes = [
        "store.* ops are batches (events/s = ops/s x batch size); verify ops are whole "
        f"passes over {records} records; SQLite durable (WAL, synchronous=FULL) in a temp dir",
    ]
    _print(run_header("extplane bench: audit", plan, notes=notes))
    with tempfile.TemporaryDirectory(prefix="extplane-bench-audit-") as directory:
        try:
            lines = asyncio.run(run(plan, records, Path(directory)))
        except (BenchmarkError, OSError, sqlite3.Error) as err:
            print(f"bench: {type(err).__name__}: {err}", file=sys.stderr)
            return 1
    for line in lines:
        _print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
