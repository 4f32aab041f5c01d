"""The numbers the pool derives: a busy pool's Retry-After from recent job
durations, and a job's hard deadline from its own timeout."""

from __future__ import annotations

import pytest
from pool_jobs import Call

from extplane.runner.jobs import ExecutionLimits, WasmJob
from extplane.runner.pool import DEFAULT_HARD_DEADLINE_S, HARD_DEADLINE_MARGIN_S, job_hard_deadline
from extplane.runner.pool.retry_after import RecentDurations


def test_retry_after_is_one_second_without_history() -> None:
    assert RecentDurations().retry_after_s(waiting=100, workers=1) == 1.0


def test_retry_after_is_the_time_the_waiting_jobs_take_on_every_worker() -> None:
    durations = RecentDurations()
    for seconds in (2.0, 4.0):
        durations.record(seconds)
    assert durations.mean_s() == 3.0
    assert durations.retry_after_s(waiting=4, workers=2) == 6.0
    # Whole seconds, rounded up; never below 1 s nor above 60 s.
    assert durations.retry_after_s(waiting=1, workers=4) == 1.0
    assert durations.retry_after_s(waiting=1000, workers=1) == 60.0


def test_retry_after_follows_recent_jobs_only() -> None:
    durations = RecentDurations()
    for _ in range(64):
        durations.record(10.0)
    for _ in range(64):
        durations.record(1.0)
    assert durations.mean_s() == pytest.approx(1.0)


def test_a_wasm_jobs_hard_deadline_is_its_timeout_plus_the_margin() -> None:
    job = WasmJob(
        component_sha256="0" * 64,
        component_path="/nonexistent",
        request=b"",
        host_address="127.0.0.1:1",
        install_token="t",
        limits=ExecutionLimits(timeout_ms=2_500),
    )
    assert job_hard_deadline(job) == 2.5 + HARD_DEADLINE_MARGIN_S
    assert job_hard_deadline(Call("echo")) == DEFAULT_HARD_DEADLINE_S
