"""Where component executions go: an `Executor` (the worker pool, in production).

The runner service hands each `WasmJob` to `Executor.run` and maps what comes
back (`errors.failure_error`); `run` raises `PoolBusyError` when its bounded
queue is full and `WorkerLostError` when the worker running the job died.
The service starts the executor before it serves and stops it after.

`default_executor` is the one place that decides which executor a runner
builds from its settings: the worker pool (`pool_executor.PoolExecutor`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from prometheus_client import CollectorRegistry

from extplane.runner.config import RunnerSettings
from extplane.runner.jobs import WasmJob, WasmOutcome
from extplane.runner.pool_executor import PoolExecutor


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


def default_executor(
    settings: RunnerSettings, cache_dir: Path, registry: CollectorRegistry | None = None
) -> Executor:
    """The executor a runner with `settings` uses: `workers` processes, at most
    `queue_size` executions waiting, the compile cache shared under `cache_dir`."""
    return PoolExecutor(
        cache_dir=cache_dir,
        workers=settings.worker_count(),
        queue_size=settings.queue_size,
        registry=registry,
    )
