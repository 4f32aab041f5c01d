"""A job fails alone: the target raising answers that error and the worker serves on;
a worker that dies or hangs is replaced, and only its own job fails."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import psutil
import pytest
from pool_jobs import FAIL_IMPORT_VARIABLE, Call, Checkpoint
from pool_support import SAFETY_DEADLINE_S, checkpoints, running_pool, sample
from prometheus_client import CollectorRegistry

from extplane.runner.jobs import WorkerLostError
from extplane.runner.pool import JobFailedError


async def test_a_job_that_raises_fails_alone_and_the_worker_keeps_its_state() -> None:
    registry = CollectorRegistry()
    async with running_pool(size=1, registry=registry) as pool:
        pid, count = await pool.run(Call("pid_and_count"))

        with pytest.raises(JobFailedError) as failed:
            await pool.run(Call("raise_value_error", "bad input: field x"))

        assert failed.value.kind == "ValueError"
        assert failed.value.message == "bad input: field x"
        assert str(failed.value) == "ValueError: bad input: field x"
        assert "raise_value_error" in failed.value.remote_traceback
        # The same process, its module state intact: the target was imported once.
        assert await pool.run(Call("pid_and_count")) == (pid, count + 1)
        assert pool.worker_pids() == (pid,)
    assert sample(registry, "extplane_runner_pool_jobs_total", outcome="failed") == 1
    assert sample(registry, "extplane_runner_pool_worker_restarts_total", reason="crashed") == 0


async def test_a_result_that_does_not_pickle_fails_its_job_not_the_worker() -> None:
    async with running_pool(size=1) as pool:
        pid, _ = await pool.run(Call("pid_and_count"))

        with pytest.raises(JobFailedError, match="could not be pickled"):
            await pool.run(Call("unpicklable_result", 1))

        assert (await pool.run(Call("pid_and_count")))[0] == pid


async def test_a_job_that_does_not_pickle_is_refused_before_it_is_queued() -> None:
    async with running_pool(size=1) as pool:
        with pytest.raises(TypeError, match="job: cannot be sent"):
            await pool.run(Call("echo", lambda: None))
        assert pool.queued == 0
        assert await pool.run(Call("echo", "fine")) == "fine"


async def test_a_worker_killed_mid_job_fails_that_job_and_is_replaced() -> None:
    registry = CollectorRegistry()
    async with checkpoints() as served, running_pool(size=1, registry=registry) as pool:
        doomed = asyncio.create_task(pool.run(Call("checkpoint", Checkpoint(served.socket_path))))
        running = await served.arrival()
        waiting = asyncio.create_task(pool.run(Call("pid_and_count")))
        await asyncio.sleep(0)
        assert pool.queued == 1

        os.kill(running.pid, signal.SIGKILL)

        with pytest.raises(WorkerLostError) as lost:
            await doomed
        assert str(lost.value) == (
            f"worker {running.pid} died (killed by SIGKILL) while running the job"
        )
        # The job queued behind it was not failed: it ran on the replacement.
        new_pid, count = await waiting
        assert new_pid != running.pid
        assert count == 1  # a fresh process
        assert pool.worker_pids() == (new_pid,)
    assert sample(registry, "extplane_runner_pool_worker_restarts_total", reason="crashed") == 1
    assert sample(registry, "extplane_runner_pool_jobs_total", outcome="lost") == 1


@pytest.mark.parametrize(
    ("command", "cause"),
    [("exit 3", "exit status 3"), ("segfault", "killed by SIGSEGV")],
)
async def test_a_worker_that_exits_or_segfaults_fails_only_its_own_job(
    command: str, cause: str
) -> None:
    async with checkpoints() as served, running_pool(size=2) as pool:
        crashing = asyncio.create_task(pool.run(Call("checkpoint", Checkpoint(served.socket_path))))
        surviving = asyncio.create_task(
            pool.run(Call("checkpoint", Checkpoint(served.socket_path)))
        )
        first, second = await served.arrival(), await served.arrival()
        assert first.pid != second.pid
        # Which task a worker runs is not ours to know: crash whichever reported first.
        await first.answer(command)
        done, _ = await asyncio.wait({crashing, surviving}, return_when=asyncio.FIRST_COMPLETED)
        (crashed,) = done
        with pytest.raises(WorkerLostError, match=f"worker {first.pid} died \\({cause}\\)"):
            await crashed

        await second.answer("return still here")
        other = surviving if crashed is crashing else crashing
        assert await other == "still here"
        assert first.pid not in pool.worker_pids()
        assert second.pid in pool.worker_pids()
        assert len(pool.worker_pids()) == 2


async def test_a_job_past_its_hard_deadline_has_its_worker_killed_and_replaced() -> None:
    registry = CollectorRegistry()
    async with running_pool(size=1, registry=registry) as pool:
        (hung_pid,) = pool.worker_pids()

        with pytest.raises(WorkerLostError) as lost:
            await pool.run(Call("hang"), hard_deadline_s=0.5)

        assert str(lost.value) == "worker killed after 0.5 s: the job passed its hard deadline"
        new_pid, _ = await pool.run(Call("pid_and_count"))
        assert new_pid != hung_pid
        assert not psutil.pid_exists(hung_pid)
    assert sample(registry, "extplane_runner_pool_worker_restarts_total", reason="deadline") == 1
    assert sample(registry, "extplane_runner_pool_worker_restarts_total", reason="crashed") == 0


async def test_a_replacement_that_cannot_import_is_retried_and_the_queue_waits_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = CollectorRegistry()
    failed_start = asyncio.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "could not start" in record.getMessage():
                failed_start.set()

    pool_logger = logging.getLogger("extplane.runner.pool.worker_pool")
    watch = Watch()
    pool_logger.addHandler(watch)
    try:
        async with running_pool(size=1, registry=registry) as pool:
            (first,) = pool.worker_pids()
            # Workers started from now on inherit the variable: their import fails.
            monkeypatch.setenv(FAIL_IMPORT_VARIABLE, "1")
            os.kill(first, signal.SIGKILL)
            await asyncio.wait_for(failed_start.wait(), SAFETY_DEADLINE_S)
            waiting = asyncio.create_task(pool.run(Call("pid_and_count")))
            monkeypatch.delenv(FAIL_IMPORT_VARIABLE)  # the retry, a moment later, imports fine

            replacement, _ = await waiting

            assert replacement != first
            assert pool.worker_pids() == (replacement,)
    finally:
        pool_logger.removeHandler(watch)
    assert sample(registry, "extplane_runner_pool_worker_start_failures_total") >= 1
