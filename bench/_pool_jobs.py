"""The jobs `runner_pool.py` runs in the pool's worker processes (imported there by
name, `_pool_jobs:<function>`: `bench/` is on the workers' `sys.path` too)."""

from __future__ import annotations

import hashlib

# About a millisecond of one core per CPU job on this machine.
CPU_JOB_ROUNDS = 2_000


def noop(job: int) -> int:
    return job


def cpu(job: int) -> int:
    digest = job.to_bytes(8, "big")
    for _ in range(CPU_JOB_ROUNDS):
        digest = hashlib.sha256(digest).digest()
    return job
