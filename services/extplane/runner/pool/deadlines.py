"""The pool's last-resort wall-clock limit on a job.

The wasm host stops a guest at its timeout by epoch interruption; this
deadline is for a worker that does not come back at all (a host call hung,
a native loop), so it is the job's own timeout plus a generous margin: the
worker is killed only when the job's own limit has clearly failed.
"""

from __future__ import annotations

# Beyond the job's timeout: room for a component's first compile (not the
# guest's time: tens of seconds for an 18 MB componentize-py or 12 MB
# componentize-js component on a loaded two-core machine; 30 s killed such a
# worker mid-compile), loading it, the instance's setup and its host calls'
# own deadlines.
HARD_DEADLINE_MARGIN_S = 120.0
# For a job that carries no timeout of its own.
DEFAULT_HARD_DEADLINE_S = 120.0


def job_hard_deadline(job: object) -> float:
    """Seconds a job may hold a worker: `job.limits.timeout_ms` (a `WasmJob`) plus
    the margin, or the default for a job without limits."""
    limits = getattr(job, "limits", None)
    timeout_ms = getattr(limits, "timeout_ms", None)
    if isinstance(timeout_ms, int) and timeout_ms > 0:
        return timeout_ms / 1000 + HARD_DEADLINE_MARGIN_S
    return DEFAULT_HARD_DEADLINE_S
