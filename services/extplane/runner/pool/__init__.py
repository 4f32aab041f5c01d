"""The runner's pool of worker processes: executions run in processes, not threads,
because wasmtime's host calls hold the GIL (two processes nearly double
throughput on two cores; two threads do not).

Every worker process imports this package (its entry is `worker_main`), so
`WorkerPool`, whose imports (the service runtime, prometheus) cost a worker
most of a second at each start, is imported on first use, not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from extplane.runner.pool.deadlines import (
    DEFAULT_HARD_DEADLINE_S,
    HARD_DEADLINE_MARGIN_S,
    job_hard_deadline,
)
from extplane.runner.pool.errors import JobFailedError, PoolStartError, PoolStoppedError
from extplane.runner.pool.sizing import machine_size

if TYPE_CHECKING:
    from extplane.runner.pool.worker_pool import WorkerPool

__all__ = [
    "DEFAULT_HARD_DEADLINE_S",
    "HARD_DEADLINE_MARGIN_S",
    "JobFailedError",
    "PoolStartError",
    "PoolStoppedError",
    "WorkerPool",
    "job_hard_deadline",
    "machine_size",
]


def __getattr__(name: str) -> Any:
    if name == "WorkerPool":
        from extplane.runner.pool.worker_pool import WorkerPool

        return WorkerPool
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
