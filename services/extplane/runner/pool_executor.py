"""The production `Executor`: components run by `run_job` on a `WorkerPool` of
processes (host calls hold the GIL, so executions scale with processes, not
threads), every worker sharing one disk compile cache.

The pool's own failures become the executor's: a full queue stays
`PoolBusyError`, a dead or deadline-killed worker `WorkerLostError`; `run_job`
raising (a bug in the host, never the guest's doing: it reports those in the
outcome) and a stopping pool are answered as failed outcomes naming it.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from prometheus_client import CollectorRegistry

from extplane.runner.jobs import WasmJob, WasmOutcome
from extplane.runner.pool import JobFailedError, PoolStoppedError, WorkerPool

RUN_JOB = "extplane.runner.wasm.worker:run_job"
COMPILED_DIR_NAME = "compiled"

_logger = logging.getLogger(__name__)


class PoolExecutor:
    def __init__(
        self,
        *,
        cache_dir: Path,
        workers: int,
        queue_size: int,
        registry: CollectorRegistry | None = None,
        target: str = RUN_JOB,
    ) -> None:
        self.compile_cache_dir = cache_dir / COMPILED_DIR_NAME
        self.pool: WorkerPool[WasmJob, WasmOutcome] = WorkerPool(
            target, size=workers, queue_bound=queue_size, registry=registry
        )

    async def start(self) -> None:
        self.compile_cache_dir.mkdir(parents=True, exist_ok=True)
        await self.pool.start()

    async def stop(self) -> None:
        await self.pool.stop()

    async def run(self, job: WasmJob) -> WasmOutcome:
        shared = dataclasses.replace(job, compile_cache_dir=str(self.compile_cache_dir))
        try:
            return await self.pool.run(shared)
        except JobFailedError as failed:
            _logger.error(
                "run_job raised %s: %s\n%s", failed.kind, failed.message, failed.remote_traceback
            )
            return WasmOutcome(None, failure=f"host failure: {failed.kind}")
        except PoolStoppedError:
            return WasmOutcome(None, failure="host failure: the runner is stopping")
