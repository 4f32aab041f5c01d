"""`run_job`: one execution of a component's `handler`, in a worker process.

The pool calls `run_job(job)` in each worker process, one job at a time per
thread. The process keeps, for its whole life, one engine per `EngineSpec`
(epoch interruption always; a second engine with fuel for jobs that ask for
it), the epoch ticker, the compile cache, the linker of each component, and
one gRPC channel per host address. Each execution gets a fresh `Store` and
instance, so nothing a guest did (or a trap left behind) reaches the next.

The disk compile cache (shared by every worker of a runner) is the first job's
`compile_cache_dir`, which the runner's executor sets; a job without one uses
the directory in the environment variable `EXTPLANE_WASM_CACHE_DIR` (unset:
memory only). It is fixed when the process runs its first job.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import wasmtime
from wasmtime.component import Component, Linker

from extplane.runner.jobs import WasmJob, WasmOutcome
from extplane.runner.wasm.bindings import UnsupportedImportError, linker_for
from extplane.runner.wasm.cache import CacheStats, CompileCache, ComponentContentError
from extplane.runner.wasm.engine import FUELED, PLAIN, EngineSpec
from extplane.runner.wasm.execute import execute
from extplane.runner.wasm.host_imports import GrpcHostImports, HostChannels
from extplane.runner.wasm.ticker import EpochTicker

CACHE_DIR_ENV = "EXTPLANE_WASM_CACHE_DIR"


@dataclass
class WorkerState:
    """Everything a worker process keeps between jobs."""

    cache: CompileCache
    ticker: EpochTicker = field(default_factory=EpochTicker)
    channels: HostChannels = field(default_factory=HostChannels)
    engines: dict[EngineSpec, wasmtime.Engine] = field(default_factory=dict)
    linkers: dict[tuple[str, str], Linker] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    pid: int = field(default_factory=os.getpid)

    def engine(self, spec: EngineSpec) -> wasmtime.Engine:
        with self.lock:
            engine = self.engines.get(spec)
            if engine is None:
                engine = self.engines[spec] = spec.engine()
                self.ticker.watch(engine)
            return engine

    def prepared(self, job: WasmJob) -> tuple[wasmtime.Engine, Component, Linker]:
        spec = FUELED if job.limits.fuel is not None else PLAIN
        engine = self.engine(spec)
        component = self.cache.get(engine, spec, job.component_sha256, job.component_path)
        key = (job.component_sha256, spec.fingerprint)
        with self.lock:
            linker = self.linkers.get(key)
            if linker is None:
                linker = self.linkers[key] = linker_for(engine, component)
        return engine, component, linker

    def close(self) -> None:
        self.ticker.stop()
        self.channels.close()


_state: WorkerState | None = None
_state_lock = threading.Lock()


def worker_state(cache_dir: str | None = None) -> WorkerState:
    """This process's state, made on first use.

    Made again in a forked child: the parent's ticker thread does not survive a
    fork, and without it no deadline would ever pass.
    """
    global _state
    with _state_lock:
        if _state is None or _state.pid != os.getpid():
            directory = cache_dir or os.environ.get(CACHE_DIR_ENV)
            _state = WorkerState(CompileCache(Path(directory) if directory else None))
        return _state


def cache_stats() -> CacheStats:
    """What this process's compile cache did so far (compiles, disk loads, hits)."""
    return worker_state().cache.stats


def run_job(job: WasmJob) -> WasmOutcome:
    """Run `job`; never raises for anything the component or its inputs did."""
    started = time.monotonic()
    state = worker_state(job.compile_cache_dir)
    if len(job.request) > job.limits.max_request_bytes:
        return WasmOutcome(None, failure="request too large")
    try:
        engine, component, linker = state.prepared(job)
    except ComponentContentError as err:
        return WasmOutcome(None, failure=f"component: {err}", duration_ms=_ms(started))
    except (OSError, wasmtime.WasmtimeError) as err:
        return WasmOutcome(None, failure=f"component: cannot load: {err}", duration_ms=_ms(started))
    except UnsupportedImportError as err:
        return WasmOutcome(None, failure=f"unsupported import: {err}", duration_ms=_ms(started))
    imports = GrpcHostImports(state.channels, job.host_address, job.install_token)
    return execute(engine, component, linker, job, imports, started=started)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
