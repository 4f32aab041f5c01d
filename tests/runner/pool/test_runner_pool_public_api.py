"""The pool's public surface, pinned: the runner service and the wasm host build on it."""

from __future__ import annotations

import subprocess
import sys

import extplane.runner.pool


def test_public_names() -> None:
    assert set(extplane.runner.pool.__all__) == {
        "DEFAULT_HARD_DEADLINE_S",
        "HARD_DEADLINE_MARGIN_S",
        "JobFailedError",
        "PoolStartError",
        "PoolStoppedError",
        "WorkerPool",
        "job_hard_deadline",
        "machine_size",
    }
    for name in extplane.runner.pool.__all__:
        assert getattr(extplane.runner.pool, name) is not None


def test_a_worker_imports_none_of_the_pools_own_dependencies() -> None:
    # Every worker start imports the worker's entry; it must stay light.
    probe = (
        "import sys, extplane.runner.pool.worker_main;"
        "print(sorted(m for m in ('extplane.runtime', 'prometheus_client', 'grpc')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
