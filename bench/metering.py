"""Benchmark metering ingest against bare baselines of the same shape, in one run.

    .venv/bin/python bench/metering.py           # about two minutes
    .venv/bin/python bench/metering.py --quick   # a few seconds, rough figures

Rows (see bench/README.md):
(a) `grpc.RecordMetering`: unary calls, 64 in flight, on the metering service
    as `extplane serve metering` runs it (durable SQLite, group commit, the
    shared runtime's interceptors) vs. a bare grpc.aio `MeteringSink` echo
    server; `grpc.RecordMetering.servicer`: the same servicer and store on a
    bare server, i.e. what metering itself adds without the shared runtime.
(b) `store.batch.c1` / `store.batch.c8`: batches of 1000 events through the
    store's group-commit path (1 or 8 batches in flight), `grpc.Batch.c8`:
    through the RecordMeteringBatch RPC; each vs. a raw `executemany` of the
    same rows into a fresh table of the same schema, one durable transaction
    per batch.
(c) `adapter.record.*`: the runtime adapters' `record()` against a no-op call,
    from `bench/_adapter_cost.py` (its rows' ratio is calls/s vs. the no-op).
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import uuid_utils
from _adapter_cost import measure_record_cost
from _harness import (
    BenchmarkError,
    Comparison,
    Measurement,
    Plan,
    bench_arguments,
    compare,
    plan_from,
)
from _loopback import LOOPBACK, bare_grpc_server, forget_proxies, grpc_channel
from _report import format_table, run_header

from extplane.config import LoggingSettings, MetricsSettings, Settings
from extplane.metering.config import MeteringSettings
from extplane.metering.event_rows import COLUMNS, EventRow, event_proto
from extplane.metering.recorder import Recorder
from extplane.metering.service import MeteringService
from extplane.metering.store.schema import MIGRATIONS, TABLE
from extplane.metering.store.sqlite import SqliteMeteringStore
from extplane.runtime.kit import ServiceKit
from extplane.runtime.logs import configure_logging
from extplane.runtime.tracing import configure_tracing
from extplane.suite import Suite
from extplane_protos.orloj.extensions.v1 import metering_pb2, metering_pb2_grpc

UNARY_CONCURRENCY = 64
BATCH_EVENTS = 1000
NAMESPACES = tuple(f"team-{i}" for i in range(8))
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet", "llama-3-70b")

Request = metering_pb2.RecordMeteringRequest
Response = metering_pb2.RecordMeteringResponse
BatchRequest = metering_pb2.RecordMeteringBatchRequest
BatchResponse = metering_pb2.RecordMeteringBatchResponse


class EchoSink(metering_pb2_grpc.MeteringSinkServicer):
    """The gRPC baseline: acknowledges every call at once, stores nothing."""

    async def RecordMetering(  # noqa: N802 - the generated servicer names the RPC method
        self, request: Request, context: grpc.aio.ServicerContext[Request, Response]
    ) -> Response:
        return Response()

    async def RecordMeteringBatch(  # noqa: N802 - the generated servicer names the RPC method
        self, request: BatchRequest, context: grpc.aio.ServicerContext[BatchRequest, BatchResponse]
    ) -> BatchResponse:
        return BatchResponse(accepted=len(request.events))


# -- (a) unary RecordMetering -------------------------------------------------------------


def unary_op(channel: grpc.aio.Channel) -> Callable[[], Awaitable[Response]]:
    """One RecordMetering call with a fresh event (and event_id) each time."""
    stub = metering_pb2_grpc.MeteringSinkStub(channel)
    counter = itertools.count()

    async def call() -> Response:
        n = next(counter)
        event = metering_pb2.MeteringEvent(
            namespace=NAMESPACES[n % len(NAMESPACES)],
            task="summarise",
            agent="planner",
            model=MODELS[n % len(MODELS)],
            tokens_in=1200,
            tokens_out=300,
            tool_calls=2,
            duration_ms=850,
            event_id=str(uuid_utils.uuid7()),
        )
        event.timestamp.GetCurrentTime()
        response = await stub.RecordMetering(Request(event=event), timeout=30.0)
        if response.duplicate:
            raise BenchmarkError("a fresh event_id was answered as a duplicate")
        return response

    return call


@contextlib.asynccontextmanager
async def servicer_on_bare_server(data_dir: Path) -> AsyncIterator[str]:
    service = MeteringService(MeteringSettings(port=0), ServiceKit.for_directory(data_dir))
    async with bare_grpc_server(service.add_to_server) as address:
        await service.start()
        try:
            yield address
        finally:
            await service.stop()


async def unary_rows(plan: Plan, work: Path, show: Callable[[str], None]) -> list[Comparison]:
    settings = Settings(
        data_dir=work / "suite",
        metering=MeteringSettings(port=0),
        metrics=MetricsSettings(port=0),
        logging=LoggingSettings(level="WARNING"),
    )
    configure_logging(settings.logging, service="bench")
    configure_tracing(settings.tracing, service_name="extplane-bench")
    rows: list[Comparison] = []
    async with contextlib.AsyncExitStack() as stack:
        suite = await stack.enter_async_context(Suite(settings, names=("metering",)))
        real = await stack.enter_async_context(
            grpc_channel(f"{LOOPBACK}:{suite.servers['metering'].port}")
        )
        bare_servicer = await stack.enter_async_context(servicer_on_bare_server(work / "bare"))
        servicer = await stack.enter_async_context(grpc_channel(bare_servicer))

        def register(server: grpc.aio.Server) -> None:
            metering_pb2_grpc.add_MeteringSinkServicer_to_server(EchoSink(), server)

        echo = await stack.enter_async_context(
            grpc_channel(await stack.enter_async_context(bare_grpc_server(register)))
        )
        for name, channel in (
            ("grpc.RecordMetering", real),
            ("grpc.RecordMetering.servicer", servicer),
        ):
            row = await compare(
                name,
                [unary_op(channel)] * UNARY_CONCURRENCY,
                [unary_op(echo)] * UNARY_CONCURRENCY,
                plan=plan,
            )
            show(f"  measured {name}: ratio {row.ratio:.2f}")
            rows.append(row)
    return rows


# -- (b) durable batched ingest ------------------------------------------------------------


def make_batches(count: int) -> list[list[EventRow]]:
    """`count` batches of distinct events (fresh UUIDv7 ids), made before any timing."""
    now = time.time_ns()
    batches: list[list[EventRow]] = []
    n = 0
    for _ in range(count):
        batch: list[EventRow] = []
        for _ in range(BATCH_EVENTS):
            batch.append(
                (
                    now - 60_000_000_000 + n * 1000,
                    NAMESPACES[n % len(NAMESPACES)],
                    "summarise",
                    "planner",
                    MODELS[n % len(MODELS)],
                    1200,
                    300,
                    2,
                    850,
                    str(uuid_utils.uuid7()),
                )
            )
            n += 1
        batches.append(batch)
    return batches


class RawSqlite:
    """The storage baseline: one connection, the same schema and durability
    (WAL, synchronous=FULL), a plain `executemany` + COMMIT per batch."""

    def __init__(self, path: Path) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="raw-sqlite")
        self._path = path
        self._conn: sqlite3.Connection | None = None
        marks = ", ".join("?" * len(COLUMNS))
        self._sql = (
            f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, received_ns)"
            f" VALUES ({marks}, {time.time_ns()})"
        )

    def _open(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        for statement in MIGRATIONS[0].sqlite:
            conn.execute(statement)
        self._conn = conn

    def _insert(self, rows: Sequence[EventRow]) -> None:
        assert self._conn is not None
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.executemany(self._sql, rows)
        self._conn.execute("COMMIT")

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open)

    async def insert(self, rows: Sequence[EventRow]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._insert, rows)

    async def close(self) -> None:
        if self._conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._conn.close)
        self._executor.shutdown()


BatchOp = Callable[[int], Awaitable[None]]


async def run_batches(op: BatchOp, count: int, concurrency: int) -> Measurement:
    """Every batch index 0..count-1 once, `concurrency` in flight (closed loop)."""
    indices = iter(range(count))
    latencies: list[float] = []

    async def worker() -> None:
        for index in indices:
            t0 = time.perf_counter()
            await op(index)
            latencies.append(time.perf_counter() - t0)

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return Measurement(len(latencies), elapsed, cpu, tuple(latencies))


# A side of a storage comparison: given a fresh directory, it yields the op
# that stores batch i (setup and teardown stay outside the timing).
Side = Callable[[Path], contextlib.AbstractAsyncContextManager[BatchOp]]


def raw_side(batches: list[list[EventRow]]) -> Side:
    @contextlib.asynccontextmanager
    async def side(directory: Path) -> AsyncIterator[BatchOp]:
        raw = RawSqlite(directory / "raw.db")
        await raw.open()

        async def op(index: int) -> None:
            await raw.insert(batches[index])

        try:
            yield op
        finally:
            await raw.close()

    return side


def store_side(batches: list[list[EventRow]]) -> Side:
    @contextlib.asynccontextmanager
    async def side(directory: Path) -> AsyncIterator[BatchOp]:
        store = SqliteMeteringStore(directory / "metering.db")
        await store.open()
        recorder = Recorder(store, max_commit_events=10_000)

        async def op(index: int) -> None:
            outcome = await recorder.record(batches[index])
            if outcome.accepted != BATCH_EVENTS:
                raise BenchmarkError(f"batch {index}: {outcome}")

        try:
            yield op
        finally:
            await recorder.close()
            await store.close()

    return side


def grpc_side(batches: list[list[EventRow]]) -> Side:
    requests = [BatchRequest(events=[event_proto(row) for row in batch]) for batch in batches]

    @contextlib.asynccontextmanager
    async def side(directory: Path) -> AsyncIterator[BatchOp]:
        async with servicer_on_bare_server(directory) as address, grpc_channel(address) as ch:
            stub = metering_pb2_grpc.MeteringSinkStub(ch)

            async def op(index: int) -> None:
                answer = await stub.RecordMeteringBatch(requests[index], timeout=60.0)
                if answer.accepted != BATCH_EVENTS:
                    raise BenchmarkError(f"batch {index}: {answer}")

            yield op

    return side


async def storage_row(
    name: str,
    subject: Side,
    baseline: Side,
    *,
    count: int,
    concurrency: int,
    plan: Plan,
    work: Path,
) -> Comparison:
    """Alternating rounds (S B, B S, …), each side on a fresh database every round."""
    measured = {"subject": Measurement(0, 0.0, 0.0, ()), "baseline": Measurement(0, 0.0, 0.0, ())}
    sides = {"subject": (subject, concurrency), "baseline": (baseline, 1)}
    for round_index in range(plan.rounds + 1):  # round 0 warms up
        order = ("subject", "baseline") if round_index % 2 == 0 else ("baseline", "subject")
        for key in order:
            side, in_flight = sides[key]
            directory = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=work))
            async with side(directory) as op:
                run = await run_batches(op, count, in_flight)
            if round_index > 0:
                measured[key] = measured[key] + run
    return Comparison(name, measured["subject"], measured["baseline"])


async def storage_rows(plan: Plan, work: Path, show: Callable[[str], None]) -> list[Comparison]:
    count = 10 if plan.run.duration_s < 1 else 100
    batches = make_batches(count)
    raw = raw_side(batches)
    rows: list[Comparison] = []
    for name, subject, concurrency in (
        ("store.batch.c1", store_side(batches), 1),
        ("store.batch.c8", store_side(batches), 8),
        ("grpc.Batch.c8", grpc_side(batches), 8),
    ):
        row = await storage_row(
            name, subject, raw, count=count, concurrency=concurrency, plan=plan, work=work
        )
        show(
            f"  measured {name}: {row.subject.ops_per_s * BATCH_EVENTS:,.0f} events/s, "
            f"raw {row.baseline.ops_per_s * BATCH_EVENTS:,.0f} events/s, ratio {row.ratio:.2f}"
        )
        rows.append(row)
    return rows


# -- main -----------------------------------------------------------------------------------


def _print(line: str) -> None:
    print(line, flush=True)


async def run(plan: Plan, work: Path) -> list[Comparison]:
    rows = await unary_rows(plan, work, _print)
    rows += await storage_rows(plan, work, _print)
    return rows


def targets(rows: Sequence[Comparison]) -> list[str]:
    by_name = {row.name: row for row in rows}
    lines = ["targets:"]
    unary = by_name["grpc.RecordMetering"]
    lines.append(f"  (a) grpc.RecordMetering ratio {unary.ratio:.2f} (target >= 0.70)")
    for name in ("store.batch.c1", "store.batch.c8", "grpc.Batch.c8"):
        row = by_name[name]
        events = row.subject.ops_per_s * BATCH_EVENTS
        lines.append(
            f"  (b) {name}: {events:,.0f} events/s (target >= 50,000), "
            f"ratio {row.ratio:.2f} (target >= 0.50)"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__.splitlines()[0] if __doc__ else "").parse_args(argv)
    plan = plan_from(args)
    for name in [n for n in os.environ if n.startswith("EXTPLANE_")]:
        del os.environ[name]
    forget_proxies()
    notes = [
        f"(a) clients in the same process and event loop, {UNARY_CONCURRENCY} calls in flight "
        "on one channel, a fresh event_id per call",
        f"(b) ops = batches of {BATCH_EVENTS} events; the raw baseline commits each batch in "
        "its own transaction, one at a time; .cN: N batches in flight on the subject",
    ]
    _print(run_header("extplane bench: metering", plan, notes=notes))
    try:
        with tempfile.TemporaryDirectory(prefix="extplane-bench-metering-") as work:
            rows = asyncio.run(run(plan, Path(work)))
    except (BenchmarkError, grpc.aio.AioRpcError, OSError, sqlite3.Error) as err:
        print(f"bench: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    # (c) runs outside the event loop: it drives the adapter from plain threads.
    adapter = measure_record_cost(plan)
    _print("")
    _print(format_table([*rows, *adapter]))
    _print("")
    for line in targets(rows):
        _print(line)
    for cost in adapter:
        _print(f"  (c) {cost}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
