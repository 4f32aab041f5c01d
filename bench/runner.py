"""Benchmark the runner's WebAssembly host (`run_job`) against bare wasmtime, in one run.

    .venv/bin/python bench/runner.py           # a minute or two (one cold compile)
    .venv/bin/python bench/runner.py --quick   # rough figures

Rows (see bench/README.md), all on one thread of this process, one call at a time:
(a) `wasm.warm_vs_cold`: `run_job` of a no-op Python component whose compile is
    cached (a fresh Store and instance each time) vs a cold execution as Alga
    runs every request: a new Engine, the component compiled from its bytes,
    instantiated and called. The ratio is cold time / warm time (target >= 1000).
(b) `wasm.run_job`: `run_job` of the no-op component vs a bare wasmtime-py loop on
    the same compiled component and linker (new Store, WASI config, epoch
    deadline, instantiate, call, post-return: nothing else). Ratio: subject
    executions/s / baseline's.
(c) `wasm.storage_get.x50`: an execution whose guest calls `storage.get` 50 times
    vs an execution making none plus 50 direct `StorageService.Get`s on a
    synchronous gRPC channel from Python (the host service, SQLite, on its own
    thread's event loop). The printed ratio is per call, the execution alone
    (measured in the same rounds) subtracted from both: guest call time / direct
    call time (target <= 1.5).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import wasmtime
from _harness import (
    NOTHING,
    BenchmarkError,
    Budget,
    Comparison,
    Measurement,
    Plan,
    bench_arguments,
    plan_from,
)
from _loopback import forget_proxies
from _report import format_table, run_header
from host import KEY, NAMESPACE, VALUE, host_service

from extplane.runner.jobs import WasmJob
from extplane.runner.wasm import run_job
from extplane.runner.wasm.engine import PLAIN
from extplane.runner.wasm.output import GuestOutput
from extplane.runner.wasm.ticker import deadline_ticks
from extplane.runner.wasm.worker import worker_state
from extplane_protos.alga.extension.v1 import handler_pb2, storage_pb2, storage_pb2_grpc, types_pb2

REPO = Path(__file__).resolve().parents[1]
GUEST = REPO / "tests" / "runner" / "wasm" / "guests" / "noop"
WARM_TARGET = 1000.0
CALL_TARGET = 1.5
# Host calls per execution in row (c), so the calls, not the execution, are measured.
CALLS = 50
Op = Callable[[], object]


def _print(line: str) -> None:
    print(line, flush=True)


def build_noop(work: Path) -> Path:
    """The no-op guest, built by the test suite's builder (cached under build/)."""
    sys.path.insert(0, str(GUEST.parent.parent))
    builder = importlib.import_module("guest_build")
    path: Path = builder.python_guest("noop").path
    return path


def drive(op: Op, budget: Budget) -> Measurement:
    latencies: list[float] = []
    cpu = time.process_time()
    started = time.perf_counter()
    deadline = started + budget.duration_s
    while len(latencies) < budget.max_ops and time.perf_counter() < deadline:
        t0 = time.perf_counter()
        op()
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    return Measurement(len(latencies), elapsed, time.process_time() - cpu, tuple(latencies))


def compare(name: str, subject: Op, baseline: Op, plan: Plan) -> Comparison:
    """As _harness.compare, for synchronous ops: warm-up, then alternating rounds."""
    drive(subject, plan.warmup)
    drive(baseline, plan.warmup)
    measured = {"subject": NOTHING, "baseline": NOTHING}
    ops = {"subject": subject, "baseline": baseline}
    for index in range(plan.rounds):
        order = ("subject", "baseline") if index % 2 == 0 else ("baseline", "subject")
        for side in order:
            measured[side] = measured[side] + drive(ops[side], plan.run)
    return Comparison(name, measured["subject"], measured["baseline"])


def request(url: str) -> bytes:
    return handler_pb2.ExecuteRequest(
        context=types_pb2.ContextData(tenant_id="bench-tenant", extension_id="bench"),
        http=types_pb2.HttpRequest(method="GET", url=url),
    ).SerializeToString()


def checked(job: WasmJob, status: int) -> Op:
    def op() -> object:
        outcome = run_job(job)
        if outcome.failure is not None or outcome.response is None:
            raise BenchmarkError(f"run_job failed: {outcome.failure}")
        if handler_pb2.ExecuteResponse.FromString(outcome.response).status != status:
            raise BenchmarkError("the guest answered another status")
        return outcome

    return op


def bare_loop(job: WasmJob) -> Op:
    """Fresh Store + instance + call on the worker's own compiled component and linker."""
    engine, component, linker = worker_state().prepared(job)
    from extplane.runner.wasm import values

    argument = values.to_record(handler_pb2.ExecuteRequest.FromString(job.request))
    ticks = deadline_ticks(job.limits.timeout_ms)

    def op() -> object:
        store = wasmtime.Store(engine)
        store.set_wasi(wasmtime.WasiConfig())
        store.set_epoch_deadline(ticks)
        instance = linker.instantiate(store, component)
        handler = instance.get_func(store, "handler")
        assert handler is not None
        result = handler(store, argument)
        handler.post_return(store)
        store.close()
        return result

    return op


def cold_once(path: Path) -> float:
    """Seconds for one execution as Alga runs each: new engine, compile, instantiate, call."""
    script = f"""
import time, sys
sys.path.insert(0, {str(REPO / "bench")!r})
from runner import cold_execution
print(cold_execution({str(path)!r}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise BenchmarkError(f"cold execution failed: {done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def cold_execution(path: str) -> float:
    """Run in a fresh process, so nothing of this one is warm."""
    from extplane.runner.wasm.bindings import linker_for

    data = Path(path).read_bytes()
    started = time.perf_counter()
    engine = PLAIN.engine()
    component = wasmtime.component.Component(engine, data)
    linker = linker_for(engine, component)
    store = wasmtime.Store(engine)
    output = GuestOutput()
    store.set_wasi(output.wasi_config())
    store.set_epoch_deadline(1_000_000)
    instance = linker.instantiate(store, component)
    handler = instance.get_func(store, "handler")
    assert handler is not None
    from extplane.runner.wasm import values

    handler(store, values.to_record(handler_pb2.ExecuteRequest.FromString(request("/"))))
    handler.post_return(store)
    elapsed = time.perf_counter() - started
    output.close()
    return elapsed


@contextlib.contextmanager
def host_in_thread(work: Path) -> Iterator[tuple[str, str]]:
    """The host service (bench/host.py's) on its own event loop thread: (address, token)."""
    loop = asyncio.new_event_loop()
    ready: asyncio.Future[tuple[str, str]] = loop.create_future()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            async with host_service(work) as host:
                ready.set_result((host.address, host.metadata[0][1]))
                await stop.wait()
        except BaseException as err:
            if not ready.done():
                ready.set_exception(err)
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(_wait(ready), loop).result(timeout=60)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)


async def _wait(future: asyncio.Future[tuple[str, str]]) -> tuple[str, str]:
    return await future


def storage_row(plan: Plan, path: Path, sha256: str, work: Path) -> tuple[Comparison, float]:
    """Subject: one execution making CALLS `storage.get`s; baseline: one execution making
    none plus CALLS direct `Get`s. Per call: (subject - execution) vs (baseline - execution),
    the execution alone measured in the same interleaved rounds."""
    with host_in_thread(work) as (address, token):
        calling = WasmJob(sha256, str(path), request(f"/storage-get/{CALLS}"), address, token)
        idle = checked(WasmJob(sha256, str(path), request("/"), address, token), 204)
        with grpc.insecure_channel(address) as channel:
            stub = storage_pb2_grpc.StorageServiceStub(channel)
            get = storage_pb2.StorageServiceGetRequest(namespace=NAMESPACE, key=KEY)
            metadata = (("x-extplane-install-token", token),)

            def direct() -> object:
                idle()
                for _ in range(CALLS):
                    reply = stub.Get(get, metadata=metadata)
                    if reply.entry.value != VALUE:
                        raise BenchmarkError("Get answered another value")
                return reply

            row = compare(f"wasm.storage_get.x{CALLS}", checked(calling, 200), direct, plan)
            alone = NOTHING
            for _ in range(plan.rounds):
                alone = alone + drive(idle, plan.run)
    execution = alone.elapsed_s / alone.ops
    guest = row.subject.elapsed_s / row.subject.ops - execution
    bare = row.baseline.elapsed_s / row.baseline.ops - execution
    return row, guest / bare


def run(plan: Plan, work: Path) -> list[str]:
    path = build_noop(work)
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    # The worker's disk cache survives runs (build/ is gitignored): the warm rows
    # need a compiled component, not a fresh compile each run; the cold row never
    # reads it.
    os.environ["EXTPLANE_WASM_CACHE_DIR"] = str(REPO / "build" / "bench-wasm-cache")
    job = WasmJob(sha256, str(path), request("/"), "127.0.0.1:9", "unused")
    noop = compare("wasm.run_job", checked(job, 204), bare_loop(job), plan)
    cold_s = cold_once(path)
    warm_s = noop.subject.percentile_s(0.5)
    storage, call_ratio = storage_row(plan, path, sha256, work)
    warm_ratio = cold_s / warm_s
    return [
        "",
        format_table([noop, storage]),
        "",
        f"wasm.warm_vs_cold: cold {cold_s * 1000:.0f} ms, warm p50 {warm_s * 1000:.2f} ms, "
        f"ratio {warm_ratio:.0f}x",
        f"wasm.run_job: ratio {noop.ratio:.2f} of the bare wasmtime loop",
        f"wasm.storage_get: a guest's storage.get vs a direct synchronous Get "
        f"(per call, the execution itself subtracted): ratio {call_ratio:.2f}",
        "",
        "targets (issue 13):",
        f"  wasm.warm_vs_cold: {warm_ratio:.0f}x (>= {WARM_TARGET:.0f}x): "
        f"{'met' if warm_ratio >= WARM_TARGET else 'MISSED'}",
        f"  wasm.storage_get: {call_ratio:.2f} (<= {CALL_TARGET}): "
        f"{'met' if call_ratio <= CALL_TARGET else 'MISSED'}",
    ]


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__.splitlines()[0] if __doc__ else "").parse_args(argv)
    plan = plan_from(args)
    for name in [n for n in os.environ if n.startswith("EXTPLANE_")]:
        del os.environ[name]
    forget_proxies()
    notes = [
        "one thread, one call at a time; no-op Python component (componentize-py)",
        "cold: a fresh process, new Engine, compile from bytes, instantiate, call",
    ]
    _print(run_header("extplane bench: runner wasm host", plan, notes=notes))
    with tempfile.TemporaryDirectory(prefix="extplane-bench-runner-") as directory:
        try:
            lines = run(plan, Path(directory))
        except (BenchmarkError, grpc.RpcError) as err:
            print(f"bench: {type(err).__name__}: {err}", file=sys.stderr)
            return 1
    for line in lines:
        _print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
