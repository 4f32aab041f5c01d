"""Where component executions go: an `Executor` (the worker pool, in production).

The runner service hands each `WasmJob` to `Executor.run` and maps what comes
back (`errors.failure_error`); `run` raises `PoolBusyError` when its bounded
queue is full and `WorkerLostError` when the worker running the job died.
The service starts the executor before it serves and stops it after.

`default_executor` is the one place that decides which executor a runner
builds from its settings; until the worker pool is bound there, it is
`NoWasmExecutor`, which refuses component versions (gRPC handler versions
run without an executor).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from extplane.errors import FailedPreconditionError
from extplane.runner.config import RunnerSettings
from extplane.runner.jobs import WasmJob, WasmOutcome


class Executor(Protocol):
    """Runs components' handlers, isolated from each other and from the service."""

    async def start(self) -> None:
        """Ready to run (workers started); called once before the first `run`."""
        ...

    async def stop(self) -> None:
        """Stop the workers; safe without `start()` and twice."""
        ...

    async def run(self, job: WasmJob) -> WasmOutcome:
        """One execution. Raises `PoolBusyError` (queue full: retry later) or
        `WorkerLostError` (the worker died); any other failure is a `WasmOutcome`
        whose `failure` names it."""
        ...


class NoWasmExecutor:
    """An executor for a runner that runs no components."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def run(self, job: WasmJob) -> WasmOutcome:
        raise FailedPreconditionError("this runner has no WebAssembly executor")


def default_executor(settings: RunnerSettings, cache_dir: Path) -> Executor:
    """The executor a runner with `settings` uses (workers, queue bound and the
    shared compile cache under `cache_dir`). The integrator binds the worker pool here."""
    return NoWasmExecutor()
