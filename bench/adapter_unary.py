"""The adapter's unary path: events/s to a sink with only the unary RPC, calls at once vs. one.

    .venv/bin/python bench/adapter_unary.py                  # about a minute
    .venv/bin/python bench/adapter_unary.py --quick          # a few seconds, rough figures
    .venv/bin/python bench/adapter_unary.py --concurrency 32 # another window than the default

Each row delivers events through a `GrpcMeteringSink` to one unary-only sink (its
batch RPC answers UNIMPLEMENTED, so the adapter falls back to `RecordMetering`,
one event per call). The subject keeps `unary_concurrency` calls in flight (the
default, or `--concurrency`); the baseline is the same sink and adapter with
`unary_concurrency=1`, which is the serial fallback the adapter had before.
Rows (bench/README.md has the method):

* `unary.python`: a bare grpc.aio sink in a child process that decodes each
  request and acknowledges it;
* `unary.python.1ms`, `unary.python.5ms`: the same sink answering after 1 ms or
  5 ms, as a sink across a network hop or behind a commit would;
* `unary.typescript`: `clients/typescript/examples/metering-sink.ts` under Node
  (built here when needed), the sink of `tests/polyglot/`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path

import grpc
from _harness import BenchmarkError, Budget, Plan, bench_arguments, plan_from
from _loopback import LOOPBACK, forget_proxies
from _report import run_header

from extplane_client import DeliveryOptions, GrpcMeteringSink
from extplane_client.delivery.options import MAX_UNARY_CONCURRENCY
from extplane_protos.orloj.extensions.v1 import metering_pb2

TARGET_RATIO = 5.0
CAPACITY = 20_000
# Events kept queued while a run is timed: enough that the window stays full.
BACKLOG = 500
START_TIMEOUT_S = 60.0
FLUSH_TIMEOUT_S = 120.0
TYPESCRIPT = Path(__file__).resolve().parents[1] / "clients" / "typescript"
NODE_SINK = TYPESCRIPT / "dist" / "examples" / "metering-sink.js"
SERVICE = "orloj.extensions.v1.MeteringSink"

# Quick ticks, so a run's last events do not wait out max_delay.
OPTIONS = DeliveryOptions(capacity=CAPACITY, max_delay=0.01)


# -- the sinks -----------------------------------------------------------------------


def _serve_python_sink(connection: Connection, service_time_s: float) -> None:
    """Child process: a unary-only MeteringSink on grpc.aio; sends its port, serves until told."""

    async def record(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        metering_pb2.RecordMeteringRequest.FromString(request)
        if service_time_s:
            await asyncio.sleep(service_time_s)
        return metering_pb2.RecordMeteringResponse().SerializeToString()

    async def serve() -> None:
        server = grpc.aio.server()
        handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(record)
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"RecordMetering": handler}),)
        )
        port = server.add_insecure_port(f"{LOOPBACK}:0")
        await server.start()
        connection.send(port)
        with contextlib.suppress(EOFError):  # EOF: the parent is gone
            await asyncio.to_thread(connection.recv)
        await server.stop(None)

    asyncio.run(serve())


@dataclass(frozen=True)
class Sink:
    address: str
    pid: int


@contextmanager
def python_sink(service_time_s: float) -> Iterator[Sink]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve_python_sink, args=(theirs, service_time_s), daemon=True)
    child.start()
    try:
        if not ours.poll(START_TIMEOUT_S):
            raise BenchmarkError(f"the Python sink did not start within {START_TIMEOUT_S:g} s")
        port: int = ours.recv()
        assert child.pid is not None
        yield Sink(f"{LOOPBACK}:{port}", child.pid)
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        child.join(10.0)
        if child.is_alive():
            child.kill()


def typescript_unavailable() -> str | None:
    """Why the TypeScript sink cannot run here, or None once it is built."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node or npm not on PATH"
    if not NODE_SINK.is_file():
        if not (TYPESCRIPT / "node_modules").is_dir():
            return f"npm dependencies missing: run `npm ci --prefix {TYPESCRIPT}`"
        build = subprocess.run(
            [npm, "run", "--silent", "build"],
            cwd=TYPESCRIPT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if build.returncode != 0:
            return f"npm run build failed: {build.stderr.strip()[:200]}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def typescript_sink() -> Iterator[Sink]:
    # The sink prints a line per event; to /dev/null, so reading them costs nothing here.
    port = _free_port()
    node = shutil.which("node") or "node"
    process = subprocess.Popen(
        [node, str(NODE_SINK), "--host", LOOPBACK, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        address = f"{LOOPBACK}:{port}"
        with grpc.insecure_channel(address) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT_S)
            except grpc.FutureTimeoutError:
                raise BenchmarkError(f"the TypeScript sink did not listen on {address}") from None
        yield Sink(address, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(10.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- timing --------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process `pid` so far; NaN where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """Events delivered, wall time, and the CPU both processes spent on them."""

    events: int = 0
    elapsed_s: float = 0.0
    client_cpu_s: float = 0.0
    sink_cpu_s: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def us_per_event(self, cpu_s: float) -> float:
        return cpu_s / self.events * 1e6 if self.events else math.nan

    def __add__(self, other: Run) -> Run:
        return Run(
            self.events + other.events,
            self.elapsed_s + other.elapsed_s,
            self.client_cpu_s + other.client_cpu_s,
            self.sink_cpu_s + other.sink_cpu_s,
        )


def deliver_for(sink: GrpcMeteringSink, budget: Budget, sink_pid: int) -> Run:
    """Events acknowledged during the budget's time, with `BACKLOG` events kept queued.

    The backlog keeps the window full (each take from the queue is about that
    large) while bounding the flush after the clock stops, which is not timed.
    """
    event = metering_pb2.MeteringEvent(
        namespace="team-a", task="task-1", agent="planner", model="gpt-4o", tokens_in=1200
    )
    before = sink.stats()
    client_cpu, sink_cpu = time.process_time(), cpu_seconds(sink_pid)
    started = time.perf_counter()
    deadline = started + budget.duration_s
    recorded = 0
    while time.perf_counter() < deadline:
        if sink.stats().queued >= BACKLOG:
            time.sleep(0.001)
            continue
        for _ in range(100):
            sink.record(event)
        recorded += 100
    stopped = sink.stats()
    elapsed = time.perf_counter() - started
    run = Run(
        stopped.delivered - before.delivered,
        elapsed,
        time.process_time() - client_cpu,
        cpu_seconds(sink_pid) - sink_cpu,
    )
    if not sink.flush(FLUSH_TIMEOUT_S):
        raise BenchmarkError(f"the sink took more than {FLUSH_TIMEOUT_S:g} s to drain")
    after = sink.stats()
    if after.delivered - before.delivered != recorded or after.batch_mode or after.retries:
        raise BenchmarkError(f"not every event was delivered at once: {recorded=}, {after}")
    return run


@dataclass(frozen=True)
class Row:
    name: str
    concurrency: int
    subject: Run
    baseline: Run

    @property
    def ratio(self) -> float:
        base = self.baseline.events_per_s
        return self.subject.events_per_s / base if base > 0 else math.nan

    @property
    def sink_bound(self) -> float:
        """Events/s the sink could answer with a whole core: 1 / its CPU per event."""
        per_event_s = self.subject.us_per_event(self.subject.sink_cpu_s) / 1e6
        return 1 / per_event_s if per_event_s > 0 else math.nan

    def cells(self) -> tuple[str, ...]:
        subject, baseline = self.subject, self.baseline
        return (
            self.name,
            f"{subject.events_per_s:.0f}",
            f"{baseline.events_per_s:.0f}",
            f"{subject.us_per_event(subject.client_cpu_s):.0f}",
            f"{baseline.us_per_event(baseline.client_cpu_s):.0f}",
            f"{subject.us_per_event(subject.sink_cpu_s):.0f}",
            f"{baseline.us_per_event(baseline.sink_cpu_s):.0f}",
            f"{self.sink_bound:.0f}",
            f"{self.ratio:.2f}",
        )

    def __str__(self) -> str:
        verdict = "met" if self.ratio >= TARGET_RATIO else "MISSED"
        allowed = self.sink_bound / self.baseline.events_per_s
        return (
            f"{self.name}: {self.concurrency} calls in flight deliver {self.ratio:.2f}x the "
            f"events/s of one at a time ({self.subject.events_per_s:,.0f} vs "
            f"{self.baseline.events_per_s:,.0f}; target >= {TARGET_RATIO:g}x: {verdict}); "
            f"the sink's own CPU per event allows at most {allowed:.1f}x"
        )


def compare_windows(name: str, sink: Sink, concurrency: int, plan: Plan) -> Row:
    """Warm both sides up (which also finds the batch RPC missing), then alternate rounds."""
    sides = {
        "subject": GrpcMeteringSink(
            sink.address, options=_with(concurrency), name=f"{name}-c{concurrency}"
        ),
        "baseline": GrpcMeteringSink(sink.address, options=_with(1), name=f"{name}-c1"),
    }
    measured = {"subject": Run(), "baseline": Run()}
    try:
        for side in sides.values():
            deliver_for(side, plan.warmup, sink.pid)
        for round_index in range(plan.rounds):
            order = ("subject", "baseline") if round_index % 2 == 0 else ("baseline", "subject")
            for side_name in order:
                run = deliver_for(sides[side_name], plan.run, sink.pid)
                measured[side_name] = measured[side_name] + run
    finally:
        for side in sides.values():
            side.close(FLUSH_TIMEOUT_S)
    return Row(name, concurrency, measured["subject"], measured["baseline"])


def _with(concurrency: int) -> DeliveryOptions:
    return replace(OPTIONS, unary_concurrency=concurrency)


_COLUMNS = (
    "name",
    "events/s",
    "base events/s",
    "client us/ev",
    "base",
    "sink us/ev",
    "base",
    "sink max",
    "ratio",
)
NOTES = (
    "ratio = events/s at the window / events/s one call at a time (unary_concurrency=1)",
    "client us/ev, sink us/ev = CPU per event of this process (adapter, producer) and of the "
    "sink's process",
    "sink max = 1e6 / sink us/ev: the events/s the sink could answer with a whole core to itself",
)


def format_rows(rows: list[Row]) -> str:
    cells = [_COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(
            [line[0].ljust(widths[0])]
            + [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        )
        for line in cells
    ]
    return "\n".join([*lines, *NOTES])


def measure(plan: Plan, concurrency: int) -> tuple[list[Row], list[str]]:
    """Every row that can run here, and a line for each that cannot."""
    rows: list[Row] = []
    missing: list[str] = []
    sinks: list[tuple[str, Callable[[], contextlib.AbstractContextManager[Sink]]]] = [
        ("unary.python", lambda: python_sink(0.0)),
        ("unary.python.1ms", lambda: python_sink(0.001)),
        ("unary.python.5ms", lambda: python_sink(0.005)),
    ]
    why = typescript_unavailable()
    if why is None:
        sinks.append(("unary.typescript", typescript_sink))
    else:
        missing.append(f"unary.typescript: not run ({why})")
    for name, start in sinks:
        with start() as sink:
            rows.append(compare_windows(name, sink, concurrency, plan))
    return rows, missing


def main(argv: list[str] | None = None) -> int:
    parser = bench_arguments(__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DeliveryOptions().unary_concurrency,
        help="the subject's unary_concurrency (default: the adapter's default)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= MAX_UNARY_CONCURRENCY:
        parser.error(f"--concurrency: must be 1-{MAX_UNARY_CONCURRENCY}, got {args.concurrency}")
    plan = plan_from(args)
    forget_proxies()
    # Every row expects the switch to the unary RPC, which the adapter logs as a
    # warning; a failed call would show as a retry, and stops the run.
    logging.getLogger("extplane_client.delivery").setLevel(logging.ERROR)
    notes = [
        f"GrpcMeteringSink in this process -> a unary-only sink in another; subject "
        f"unary_concurrency={args.concurrency}, baseline 1; events/s = events acknowledged "
        f"while a run is timed, with {BACKLOG} events kept queued",
    ]
    print(run_header("extplane bench: the adapter's unary fallback", plan, notes=notes))
    try:
        rows, missing = measure(plan, args.concurrency)
    except (BenchmarkError, grpc.RpcError, OSError) as err:
        print(f"bench: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print("")
    print(format_rows(rows))
    print("")
    for row in rows:
        print(row)
    for line in missing:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
