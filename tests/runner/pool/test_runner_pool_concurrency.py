"""Jobs run in parallel on separate worker processes, one job per worker at a time;
a full queue refuses at once. Concurrency is shown by structure, never by timing:
two jobs that each block until the other runs can only both finish on two workers."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from pool_jobs import Call, Checkpoint, Meet
from pool_support import SAFETY_DEADLINE_S, checkpoints, running_pool, sample
from prometheus_client import CollectorRegistry

from extplane.runner.jobs import ExecutionLimits, PoolBusyError, WasmJob, WasmOutcome
from extplane.runner.pool import machine_size


def _fifos(directory: Path) -> str:
    fifo = str(directory / "meet")
    os.mkfifo(fifo)
    os.mkfifo(fifo + ".back")
    return fifo


async def test_two_cpu_bound_jobs_that_need_each_other_finish_on_two_workers(
    tmp_path: Path,
) -> None:
    fifo = _fifos(tmp_path)
    async with running_pool(size=2) as pool:
        writer, reader = await asyncio.gather(
            pool.run(Call("meet", Meet(fifo, "write")), hard_deadline_s=SAFETY_DEADLINE_S),
            pool.run(Call("meet", Meet(fifo, "read")), hard_deadline_s=SAFETY_DEADLINE_S),
        )
        pids = set(pool.worker_pids())

    writer_pid, met_pid, digest = writer
    reader_pid, reader_met_pid, reader_digest = reader
    # Each saw the other while both were running: two processes, at the same time.
    assert writer_pid != reader_pid
    assert (met_pid, reader_met_pid) == (reader_pid, writer_pid)
    assert {writer_pid, reader_pid} == pids
    assert os.getpid() not in pids
    assert digest == reader_digest
    assert len(digest) == 64


async def test_one_worker_runs_one_job_at_a_time_and_the_rest_wait() -> None:
    registry = CollectorRegistry()
    async with checkpoints() as served, running_pool(size=1, registry=registry) as pool:
        first = asyncio.create_task(pool.run(Call("checkpoint", Checkpoint(served.socket_path))))
        second = asyncio.create_task(pool.run(Call("checkpoint", Checkpoint(served.socket_path))))
        running = await served.arrival()

        assert (pool.busy_workers, pool.queued) == (1, 1)
        assert sample(registry, "extplane_runner_pool_busy_workers") == 1
        assert sample(registry, "extplane_runner_pool_queue_depth") == 1

        await running.answer("return first")
        assert await first == "first"
        waited = await served.arrival()
        assert waited.pid == running.pid  # the same worker, once it was free
        await waited.answer("return second")
        assert await second == "second"

    assert sample(registry, "extplane_runner_pool_jobs_total", outcome="ok") == 2
    assert sample(registry, "extplane_runner_pool_queue_depth") == 0


async def test_a_full_queue_refuses_at_once_with_a_retry_after() -> None:
    registry = CollectorRegistry()
    async with (
        checkpoints() as served,
        running_pool(size=1, queue_bound=1, registry=registry) as pool,
    ):
        running = asyncio.create_task(pool.run(Call("checkpoint", Checkpoint(served.socket_path))))
        arrived = await served.arrival()
        queued = asyncio.create_task(pool.run(Call("echo", "queued")))
        await asyncio.sleep(0)  # let the queued call reach the queue
        assert pool.queued == 1

        with pytest.raises(PoolBusyError) as refused:
            await pool.run(Call("echo", "refused"))

        assert refused.value.retry_after_s >= 1
        assert "retry after" in str(refused.value)
        assert sample(registry, "extplane_runner_pool_rejected_total") == 1
        # The refusal touched nobody else.
        await arrived.answer("return done")
        assert await running == "done"
        assert await queued == "queued"
        # Room again: the next call is taken.
        assert await pool.run(Call("echo", "after")) == "after"


async def test_an_idle_worker_takes_a_job_even_with_no_queue_at_all() -> None:
    async with running_pool(size=1, queue_bound=0) as pool:
        assert await pool.run(Call("echo", 1)) == 1
        assert await pool.run(Call("echo", 2)) == 2


async def test_a_cancelled_caller_leaves_the_queue() -> None:
    async with checkpoints() as served, running_pool(size=1) as pool:
        running = asyncio.create_task(pool.run(Call("checkpoint", Checkpoint(served.socket_path))))
        arrived = await served.arrival()
        queued = asyncio.create_task(pool.run(Call("checkpoint", Checkpoint(served.socket_path))))
        await asyncio.sleep(0)
        assert pool.queued == 1

        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued

        assert pool.queued == 0
        await arrived.answer("return kept")
        assert await running == "kept"
        # The cancelled job never ran: the next job to report in is this one.
        after = asyncio.create_task(pool.run(Call("checkpoint", Checkpoint(served.socket_path))))
        await (await served.arrival()).answer("return after")
        assert await after == "after"


async def test_the_default_size_is_the_cpus_this_process_may_use() -> None:
    async with running_pool() as pool:
        assert pool.size == machine_size() == len(pool.worker_pids())
        assert pool.queue_bound >= pool.size


async def test_wasm_jobs_and_outcomes_cross_into_a_worker_and_back() -> None:
    job = WasmJob(
        component_sha256="ab" * 32,
        component_path="/var/lib/extplane/components/ab",
        request=b"\x0a\x02hi",
        host_address="127.0.0.1:7001",
        install_token="token-123",
        limits=ExecutionLimits(timeout_ms=1_500, fuel=10_000),
    )
    async with running_pool("outcome_of", size=1) as pool:
        outcome = await pool.run(job)

    assert outcome == WasmOutcome(
        response=b"ih\x02\x0a",
        host_calls=9,
        duration_ms=1_500,
        guest_output=("ab" * 32, "127.0.0.1:7001"),
    )
