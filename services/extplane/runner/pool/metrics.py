"""Prometheus families of the worker pool, registered once per registry; each pool
reports under its own `pool` label."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from extplane.runtime import once_per_registry


@dataclass(frozen=True)
class _Families:
    workers: Gauge
    busy: Gauge
    queued: Gauge
    restarts: Counter
    rejected: Counter
    start_failures: Counter
    jobs: Counter
    job_seconds: Histogram


@once_per_registry
def _families(registry: CollectorRegistry) -> _Families:
    return _Families(
        workers=Gauge(
            "extplane_runner_pool_workers",
            "Worker processes the pool keeps (its size).",
            ["pool"],
            registry=registry,
        ),
        busy=Gauge(
            "extplane_runner_pool_busy_workers",
            "Workers running a job now.",
            ["pool"],
            registry=registry,
        ),
        queued=Gauge(
            "extplane_runner_pool_queue_depth",
            "Jobs waiting for a free worker.",
            ["pool"],
            registry=registry,
        ),
        restarts=Counter(
            "extplane_runner_pool_worker_restarts",
            "Workers replaced, by reason: crashed (the process died) or deadline "
            "(killed at a job's hard deadline).",
            ["pool", "reason"],
            registry=registry,
        ),
        rejected=Counter(
            "extplane_runner_pool_rejected",
            "Jobs refused at once because the queue was full (PoolBusyError).",
            ["pool"],
            registry=registry,
        ),
        start_failures=Counter(
            "extplane_runner_pool_worker_start_failures",
            "Workers that could not import the target (each is retried after a pause; "
            "queued jobs wait for a worker that starts).",
            ["pool"],
            registry=registry,
        ),
        jobs=Counter(
            "extplane_runner_pool_jobs",
            "Jobs finished, by outcome: ok, failed (the target raised) or lost "
            "(the worker died or was killed).",
            ["pool", "outcome"],
            registry=registry,
        ),
        job_seconds=Histogram(
            "extplane_runner_pool_job_seconds",
            "Time a job held a worker, from dispatch to its answer.",
            ["pool"],
            registry=registry,
        ),
    )


class PoolMetrics:
    """The children of the pool's families for one pool; a private registry when none is given."""

    def __init__(self, pool: str, registry: CollectorRegistry | None = None) -> None:
        families = _families(registry if registry is not None else CollectorRegistry())
        self.workers = families.workers.labels(pool)
        self.busy = families.busy.labels(pool)
        self.queued = families.queued.labels(pool)
        self.rejected = families.rejected.labels(pool)
        self.start_failures = families.start_failures.labels(pool)
        self.job_seconds = families.job_seconds.labels(pool)
        self.restarted_crashed = families.restarts.labels(pool, "crashed")
        self.restarted_deadline = families.restarts.labels(pool, "deadline")
        self.jobs_ok = families.jobs.labels(pool, "ok")
        self.jobs_failed = families.jobs.labels(pool, "failed")
        self.jobs_lost = families.jobs.labels(pool, "lost")
