"""What `record()` costs a runtime: the metering and audit adapters against a no-op call.

    .venv/bin/python bench/_adapter_cost.py            # about 15 s
    .venv/bin/python bench/_adapter_cost.py --quick    # a few seconds, rough figures

`bench/metering.py` imports it as its part (c):

    costs = measure_record_cost(plan)       # RecordCost rows (a Comparison each)
    print(format_table(costs))              # the shared table: ratio = calls/s vs no-op
    for cost in costs: print(cost)          # the figure that matters: µs per record()

Each sample times a loop of `LOOP` calls with `perf_counter_ns` and divides by
`LOOP` (timeit-style: a single call is too short to time alone); the median and
p99 are over the samples. The baseline is the same loop calling a function that
does nothing, so `added` is what `record()` costs beyond a Python call. The sink
delivers to a bare sink server in a child process (so the server's work does not
compete with the loop for the GIL; the adapter's own worker thread does, as it
would in a runtime). Between samples, outside the timed loop, the queue is
flushed whenever it passes half its capacity, so every timed call is an
accepted event, never the (cheaper) overflow path.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import grpc
from _harness import (
    FULL,
    NOTHING,
    BenchmarkError,
    Budget,
    Comparison,
    Measurement,
    Plan,
    bench_arguments,
    plan_from,
)
from _loopback import LOOPBACK, forget_proxies
from _report import format_table, run_header

from extplane_client import DeliveryOptions, GrpcAuditSink, GrpcMeteringSink
from extplane_protos.orloj.extensions.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    metering_pb2,
    metering_pb2_grpc,
)

# Calls per timed sample: long enough for perf_counter_ns, short enough for many samples.
LOOP = 100
TARGET_MEDIAN_US = 5.0
CAPACITY = 100_000
FLUSH_TIMEOUT_S = 60.0

Call = Callable[[Any], object]


@dataclass(frozen=True)
class RecordCost(Comparison):
    """A row of the shared table whose `str()` gives the cost of one call in µs."""

    @property
    def median_us(self) -> float:
        return self.subject.percentile_s(0.50) * 1e6

    @property
    def p99_us(self) -> float:
        return self.subject.percentile_s(0.99) * 1e6

    @property
    def baseline_median_us(self) -> float:
        return self.baseline.percentile_s(0.50) * 1e6

    @property
    def baseline_p99_us(self) -> float:
        return self.baseline.percentile_s(0.99) * 1e6

    @property
    def added_median_us(self) -> float:
        return self.median_us - self.baseline_median_us

    def __str__(self) -> str:
        verdict = "met" if self.median_us <= TARGET_MEDIAN_US else "MISSED"
        return (
            f"{self.name}: median {self.median_us:.2f} us, p99 {self.p99_us:.2f} us per call; "
            f"no-op call {self.baseline_median_us:.2f} / {self.baseline_p99_us:.2f} us; "
            f"added {self.added_median_us:.2f} us (target <= {TARGET_MEDIAN_US:g} us median: "
            f"{verdict}); {len(self.subject.latencies_s)} samples of {LOOP} calls"
        )


# -- the bare sinks, in a child process ---------------------------------------------------


class _BareMetering(metering_pb2_grpc.MeteringSinkServicer):
    """Acknowledges every call and keeps nothing."""

    def RecordMetering(  # noqa: N802 - the generated servicer names the RPC method
        self, request: metering_pb2.RecordMeteringRequest, context: grpc.ServicerContext
    ) -> metering_pb2.RecordMeteringResponse:
        return metering_pb2.RecordMeteringResponse()

    def RecordMeteringBatch(  # noqa: N802
        self, request: metering_pb2.RecordMeteringBatchRequest, context: grpc.ServicerContext
    ) -> metering_pb2.RecordMeteringBatchResponse:
        return metering_pb2.RecordMeteringBatchResponse(accepted=len(request.events))


class _BareAudit(audit_pb2_grpc.AuditSinkServicer):
    """Acknowledges every call and keeps nothing."""

    def RecordAudit(  # noqa: N802 - the generated servicer names the RPC method
        self, request: audit_pb2.RecordAuditRequest, context: grpc.ServicerContext
    ) -> audit_pb2.RecordAuditResponse:
        return audit_pb2.RecordAuditResponse()

    def RecordAuditBatch(  # noqa: N802
        self, request: audit_pb2.RecordAuditBatchRequest, context: grpc.ServicerContext
    ) -> audit_pb2.RecordAuditBatchResponse:
        return audit_pb2.RecordAuditBatchResponse(accepted=len(request.events))


def _serve_bare_sinks(connection: Connection) -> None:
    """Child process: serve both sinks, send the port, serve until told (or orphaned)."""
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    metering_pb2_grpc.add_MeteringSinkServicer_to_server(_BareMetering(), server)
    audit_pb2_grpc.add_AuditSinkServicer_to_server(_BareAudit(), server)
    port = server.add_insecure_port(f"{LOOPBACK}:0")
    server.start()
    connection.send(port)
    with contextlib.suppress(EOFError):  # EOF: the parent is gone
        connection.recv()
    server.stop(None)


@contextmanager
def bare_sinks() -> Iterator[str]:
    """Bare MeteringSink and AuditSink servers in a child process; yields "host:port"."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve_bare_sinks, args=(theirs,), daemon=True)
    child.start()
    try:
        if not ours.poll(60.0):
            raise BenchmarkError("the bare sink server did not start within 60 s")
        port: int = ours.recv()
        yield f"{LOOPBACK}:{port}"
    finally:
        ours.send("stop")
        child.join(10.0)
        if child.is_alive():
            child.kill()


# -- timing --------------------------------------------------------------------------------


def _noop(event: object) -> None:
    """The baseline: a Python call that does nothing with its argument."""


def time_calls(
    call: Call, argument: object, budget: Budget, make_room: Callable[[], None]
) -> Measurement:
    """Time loops of `LOOP` calls until the budget runs out; one latency per loop (per call)."""
    latencies: list[float] = []
    ops = 0
    elapsed_ns = 0
    cpu_started = time.process_time()
    deadline = time.perf_counter() + budget.duration_s
    clock = time.perf_counter_ns
    rounds = range(LOOP)
    while ops < budget.max_ops and time.perf_counter() < deadline:
        make_room()
        started = clock()
        for _ in rounds:
            call(argument)
        took = clock() - started
        elapsed_ns += took
        ops += LOOP
        latencies.append(took / LOOP / 1e9)
    # CPU over the whole run, the worker's sending and the flushes included: what
    # the events cost the process in all, per call.
    cpu = time.process_time() - cpu_started
    return Measurement(ops, elapsed_ns / 1e9, cpu, tuple(latencies))


def compare_calls(
    name: str, subject: Call, argument: object, make_room: Callable[[], None], plan: Plan
) -> RecordCost:
    """Warm both up, then time them in alternating rounds (S B, B S, ...)."""
    time_calls(subject, argument, plan.warmup, make_room)
    time_calls(_noop, argument, plan.warmup, _nothing)
    measured = {"subject": NOTHING, "baseline": NOTHING}
    for round_index in range(plan.rounds):
        order = ("subject", "baseline") if round_index % 2 == 0 else ("baseline", "subject")
        for side in order:
            if side == "subject":
                run = time_calls(subject, argument, plan.run, make_room)
            else:
                run = time_calls(_noop, argument, plan.run, _nothing)
            measured[side] = measured[side] + run
    return RecordCost(name, measured["subject"], measured["baseline"])


def _nothing() -> None:
    pass


def _room_maker(sink: GrpcMeteringSink | GrpcAuditSink) -> Callable[[], None]:
    def make_room() -> None:
        if sink.stats().queued > CAPACITY // 2 and not sink.flush(FLUSH_TIMEOUT_S):
            raise BenchmarkError(f"the bare sink took more than {FLUSH_TIMEOUT_S} s to drain")

    return make_room


def _check(sink: GrpcMeteringSink | GrpcAuditSink, name: str) -> None:
    if not sink.close(FLUSH_TIMEOUT_S):
        raise BenchmarkError(f"{name}: events were left unsent at close")
    stats = sink.stats()
    if stats.overflowed or stats.dropped or stats.rejected or not stats.batch_mode:
        raise BenchmarkError(f"{name}: not every call was an accepted event: {stats}")


def measure_record_cost(plan: Plan = FULL) -> list[RecordCost]:
    """`record()` of the metering and the audit sink, each against a no-op call."""
    options = DeliveryOptions(capacity=CAPACITY)
    metering_event = metering_pb2.MeteringEvent(
        namespace="team-a",
        task="task-1",
        agent="planner",
        model="gpt-4o",
        tokens_in=1200,
        tokens_out=300,
        tool_calls=2,
        duration_ms=850,
    )
    audit_event = audit_pb2.AuditEvent(
        action="tool_invoke",
        actor="agent/planner",
        resource="tool/search",
        namespace="team-a",
        outcome="allowed",
        details={"tool": "search", "task": "task-1"},
    )
    rows: list[RecordCost] = []
    with bare_sinks() as address:
        metering = GrpcMeteringSink(address, options=options)
        try:
            row = compare_calls(
                "adapter.record.metering",
                metering.record,
                metering_event,
                _room_maker(metering),
                plan,
            )
        finally:
            _check(metering, "adapter.record.metering")
        rows.append(row)
        audit = GrpcAuditSink(address, options=options)
        try:
            row = compare_calls(
                "adapter.record.audit", audit.record, audit_event, _room_maker(audit), plan
            )
        finally:
            _check(audit, "adapter.record.audit")
        rows.append(row)
    for row in rows:
        if not all(math.isfinite(value) for value in row.subject.latencies_s):
            raise BenchmarkError(f"{row.name}: a sample was not a number")
    return rows


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__.splitlines()[0] if __doc__ else "").parse_args(argv)
    plan = plan_from(args)
    forget_proxies()
    notes = [
        f"samples: loops of {LOOP} calls timed with perf_counter_ns, per-call figures; "
        "the sink delivers in batches to a bare sink server in a child process",
        "+cpu us/op includes the adapter's worker thread (copies, batches, the RPCs)",
    ]
    print(run_header("extplane bench: adapter record() cost", plan, notes=notes), flush=True)
    try:
        rows = measure_record_cost(plan)
    except (BenchmarkError, grpc.RpcError, OSError) as err:
        print(f"bench: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print("")
    print(format_table(rows))
    print("")
    for row in rows:
        print(row)
    medians = [row.median_us for row in rows]
    print(f"median of the medians: {statistics.median(medians):.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
