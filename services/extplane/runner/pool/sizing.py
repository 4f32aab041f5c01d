"""How big a pool is when its owner does not say: one worker per CPU this process
may run on (two processes nearly double wasm throughput on two cores; threads
do not, as host calls hold the GIL), and a queue of a few jobs per worker."""

from __future__ import annotations

import os

# Jobs that may wait for a worker, per worker, before the pool answers busy.
QUEUE_PER_WORKER = 8


def machine_size() -> int:
    """CPUs available to this process (its affinity mask, not the machine's count)."""
    counted = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counted is not None:
        found = counted()
    elif hasattr(os, "sched_getaffinity"):
        found = len(os.sched_getaffinity(0))
    else:
        found = os.cpu_count()
    return max(1, found or 1)


def default_queue_bound(size: int) -> int:
    return size * QUEUE_PER_WORKER
