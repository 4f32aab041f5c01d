"""Start and stop: a pool starts once its workers have imported the target, stops
after the work in flight (or kills it at the grace), and leaves no process behind,
not even when its own process dies without stopping it."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from pool_jobs import Call, Checkpoint
from pool_support import checkpoints, running_pool, sample, target
from prometheus_client import CollectorRegistry

from extplane.runner.jobs import WorkerLostError
from extplane.runner.pool import PoolStartError, PoolStoppedError, WorkerPool

HERE = Path(__file__).resolve().parent
# Bounds for a process to go away once told or killed; a safety net, never asserted on.
EXIT_WAIT_S = 30.0


def _children() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def _gone(pids: tuple[int, ...]) -> bool:
    return not any(psutil.pid_exists(pid) for pid in pids)


async def test_stop_lets_the_running_job_finish_then_leaves_no_worker() -> None:
    registry = CollectorRegistry()
    async with checkpoints() as served:
        pool: WorkerPool[Call, str] = WorkerPool(target("call"), size=2, registry=registry)
        await pool.start()
        pids = pool.worker_pids()
        assert len(pids) == 2
        assert set(pids) <= _children()
        assert sample(registry, "extplane_runner_pool_workers") == 2

        running = asyncio.create_task(pool.run(Call("checkpoint", Checkpoint(served.socket_path))))
        arrived = await served.arrival()
        stopping = asyncio.create_task(pool.stop())
        await asyncio.sleep(0)
        # Stopping takes no new job, but the one running goes on.
        with pytest.raises(PoolStoppedError, match="the worker pool is draining"):
            await pool.run(Call("echo", "late"))
        assert not stopping.done()

        await arrived.answer("return finished")
        assert await running == "finished"
        await stopping

    assert pool.worker_pids() == ()
    assert _gone(pids)
    assert not set(pids) & _children()
    assert multiprocessing.active_children() == []
    assert sample(registry, "extplane_runner_pool_workers") == 0


async def test_drain_kills_a_job_still_running_at_the_grace_and_fails_the_queued() -> None:
    async with checkpoints() as served:
        pool: WorkerPool[Call, str] = WorkerPool(target("call"), size=1)
        await pool.start()
        pids = pool.worker_pids()
        running = asyncio.create_task(pool.run(Call("checkpoint", Checkpoint(served.socket_path))))
        await served.arrival()  # never answered
        queued = asyncio.create_task(pool.run(Call("echo", "never")))
        await asyncio.sleep(0)

        await pool.drain(0)

        with pytest.raises(WorkerLostError, match="the pool stopped before the job finished"):
            await running
        with pytest.raises(PoolStoppedError, match="before the job started"):
            await queued
    assert _gone(pids)
    assert multiprocessing.active_children() == []


async def test_stop_is_safe_without_start_and_twice() -> None:
    pool: WorkerPool[Call, object] = WorkerPool(target("call"), size=1)
    with pytest.raises(PoolStoppedError, match="the worker pool is not started"):
        await pool.run(Call("echo", 1))
    await pool.stop()
    await pool.stop()
    with pytest.raises(PoolStoppedError, match="the worker pool is stopped"):
        await pool.run(Call("echo", 1))

    async with running_pool(size=1) as started:
        pids = started.worker_pids()
        await started.stop()
        await started.stop()
    assert _gone(pids)


async def test_a_target_that_does_not_import_fails_start_naming_it() -> None:
    before = _children()
    pool: WorkerPool[Call, object] = WorkerPool(target("no_such_function"), size=2)
    with pytest.raises(PoolStartError, match="pool_jobs:no_such_function") as failed:
        await pool.start()
    assert "has no attribute 'no_such_function'" in str(failed.value)
    assert pool.worker_pids() == ()
    assert _children() <= before

    missing: WorkerPool[Call, object] = WorkerPool("no_such_module:run", size=1)
    with pytest.raises(PoolStartError, match="ModuleNotFoundError"):
        await missing.start()


@pytest.mark.parametrize("bad", ["pool_jobs", "pool_jobs:", ":run", "pool jobs:run", "a..b:run"])
def test_a_target_that_is_not_module_colon_function_is_refused_at_construction(bad: str) -> None:
    with pytest.raises(ValueError, match="target: expected an importable 'module:function'"):
        WorkerPool(bad)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"size": 0}, "size"),
        ({"queue_bound": -1}, "queue_bound"),
        ({"start_method": "fork"}, "start_method"),
    ],
)
def test_bad_options_are_refused_naming_the_option(options: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}: "):
        WorkerPool(target("call"), **options)  # type: ignore[arg-type]


async def test_forkserver_workers_serve_and_stop_too() -> None:
    async with running_pool(size=1, start_method="forkserver") as pool:
        pid, _ = await pool.run(Call("pid_and_count"))
        assert pool.worker_pids() == (pid,)
    assert _gone((pid,))


def test_workers_die_with_the_pool_process_even_when_it_is_killed() -> None:
    # A process that starts a pool, gives a worker a job that never ends, reports
    # the pids, and is then killed with SIGKILL: it never gets to stop its pool.
    owner = subprocess.Popen(
        [sys.executable, str(HERE / "pool_owner.py")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE,
    )
    assert owner.stdout is not None
    try:
        line = owner.stdout.readline()
        pids = tuple(int(pid) for pid in line.split())
        assert len(pids) == 2, line
        assert all(psutil.pid_exists(pid) for pid in pids)
    finally:
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
    workers = [psutil.Process(pid) for pid in pids if psutil.pid_exists(pid)]
    _, alive = psutil.wait_procs(workers, timeout=EXIT_WAIT_S)
    assert alive == []


async def test_a_second_drain_with_a_smaller_grace_cuts_the_wait_short() -> None:
    pool: WorkerPool[Call, object] = WorkerPool(target("call"), size=1)
    await pool.start()
    pids = pool.worker_pids()
    stuck = asyncio.create_task(pool.run(Call("hang")))
    await asyncio.sleep(0)
    patient = asyncio.create_task(pool.drain(3600))
    await asyncio.sleep(0)
    assert not patient.done()

    await pool.drain(0)

    await patient
    with pytest.raises(WorkerLostError, match="the pool stopped before the job finished"):
        await stuck
    assert _gone(pids)
