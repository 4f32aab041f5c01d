"""A pool of worker processes that run jobs of one target function, for an asyncio caller.

    pool = WorkerPool[WasmJob, WasmOutcome]("extplane.runner.wasm.worker:run_job")
    async with pool:
        outcome = await pool.run(job)

Workers are started with `spawn` (a fresh interpreter, never a fork of this
threaded process), import the target once and keep whatever it builds (an
engine, a compile cache) for every later job; each runs one job at a time.

* A full queue refuses at once: `PoolBusyError(retry_after_s)`.
* The target raising fails that job with `JobFailedError`; the worker serves on.
* A worker that dies (killed, `os._exit`, a segfault) fails only the job it ran,
  with `WorkerLostError`, and is replaced; a job that outlives its hard deadline
  has its worker killed and replaced (`WorkerLostError("worker killed after …")`).
* `drain(grace)` / `stop()` let queued and running jobs finish, then stop every
  worker and reap it: no process outlives the pool.

Everything runs on the event loop that called `start()`; it is not thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import pickle
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from prometheus_client import CollectorRegistry

from extplane.runner.jobs import PoolBusyError, WorkerLostError
from extplane.runner.pool.deadlines import job_hard_deadline
from extplane.runner.pool.errors import JobFailedError, PoolStartError, PoolStoppedError
from extplane.runner.pool.metrics import PoolMetrics
from extplane.runner.pool.retry_after import RecentDurations
from extplane.runner.pool.sizing import default_queue_bound, machine_size
from extplane.runner.pool.target import parse_target
from extplane.runner.pool.worker_process import Message, Pending, Running, WorkerProcess
from extplane.runtime import AsyncLifecycle

_logger = logging.getLogger(__name__)

JobT = TypeVar("JobT")
ResultT = TypeVar("ResultT")

START_METHODS = ("spawn", "forkserver")
DEFAULT_START_TIMEOUT_S = 60.0
DEFAULT_STOP_GRACE_S = 10.0
# After the grace: how long a worker told to stop may take to exit before it is killed.
EXIT_TIMEOUT_S = 5.0
# Before replacing a worker whose target failed to import (no tight respawn loop).
RESPAWN_BACKOFF_S = 1.0

_STOP = b""


class WorkerPool(AsyncLifecycle, Generic[JobT, ResultT]):
    """`run(job)` on one of `size` worker processes running `target(job)`."""

    def __init__(
        self,
        target: str,
        *,
        size: int | None = None,
        queue_bound: int | None = None,
        registry: CollectorRegistry | None = None,
        name: str = "wasm",
        hard_deadline: Callable[[JobT], float] = job_hard_deadline,
        start_method: str = "spawn",
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    ) -> None:
        parse_target(target)
        if size is not None and size < 1:
            raise ValueError(f"size: at least 1 worker, got {size}")
        if queue_bound is not None and queue_bound < 0:
            raise ValueError(f"queue_bound: 0 or more jobs, got {queue_bound}")
        if start_method not in START_METHODS:
            raise ValueError(
                f"start_method: one of {', '.join(START_METHODS)}, got {start_method!r}"
            )
        self.target = target
        self.size = size if size is not None else machine_size()
        self.queue_bound = (
            queue_bound if queue_bound is not None else default_queue_bound(self.size)
        )
        self._hard_deadline = hard_deadline
        self._context = multiprocessing.get_context(start_method)
        self._start_timeout_s = start_timeout_s
        self._metrics = PoolMetrics(name, registry)
        self._durations = RecentDurations()
        self._state = "new"  # new, running, draining, stopped
        self._loop: asyncio.AbstractEventLoop | None = None
        self._workers: list[WorkerProcess] = []
        self._idle: deque[WorkerProcess] = deque()
        self._queue: deque[Pending] = deque()
        self._changed = asyncio.Event()  # a worker got ready, finished a job or exited
        self._stop_task: asyncio.Task[None] | None = None
        self._drain_deadline = 0.0
        # Set once start() has seen every worker ready; until then a failed import
        # is start()'s to report, not a worker to replace.
        self._started = False
        self._start_failure: str | None = None

    # -- what callers see ---------------------------------------------------------

    def worker_pids(self) -> tuple[int, ...]:
        """The pids of the pool's live worker processes (starting ones included)."""
        return tuple(worker.pid for worker in self._workers)

    @property
    def busy_workers(self) -> int:
        return sum(1 for worker in self._workers if worker.running is not None)

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def run(self, job: JobT, *, hard_deadline_s: float | None = None) -> ResultT:
        """The target's result for `job`, run on a free worker.

        Raises `PoolBusyError` when no worker is free and the queue is full,
        `JobFailedError` when the target raised, `WorkerLostError` when the worker
        died or was killed at the hard deadline, `PoolStoppedError` when stopping.
        """
        if self._state != "running" or self._loop is None:
            state = "not started" if self._state == "new" else self._state
            raise PoolStoppedError(f"the worker pool is {state}: it takes no job")
        try:
            payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            raise TypeError(f"job: cannot be sent to a worker process: {error}") from error
        deadline = hard_deadline_s if hard_deadline_s is not None else self._hard_deadline(job)
        if deadline <= 0:
            raise ValueError(f"hard_deadline_s: must be > 0, got {deadline:g}")
        if not self._idle and len(self._queue) >= self.queue_bound:
            self._metrics.rejected.inc()
            raise PoolBusyError(self._durations.retry_after_s(len(self._queue) + 1, self.size))
        pending = Pending(payload, self._loop.create_future(), deadline)
        self._queue.append(pending)
        self._pump()
        try:
            return cast(ResultT, await pending.future)
        except asyncio.CancelledError:
            # The caller gave up: a queued job never starts; a running one finishes unseen.
            if pending in self._queue:
                self._queue.remove(pending)
                self._metrics.queued.set(len(self._queue))
            raise

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Start `size` workers and return once each has imported the target."""
        if self._state != "new":
            return
        self._loop = asyncio.get_running_loop()
        self._state = "running"
        self._metrics.workers.set(self.size)
        for _ in range(self.size):
            self._spawn()
        try:
            await asyncio.wait_for(self._all_started(), self._start_timeout_s)
        except BaseException as error:
            await self.drain(0)
            if isinstance(error, TimeoutError):
                raise PoolStartError(
                    f"{self.target}: workers not ready in {self._start_timeout_s:g} s"
                ) from None
            raise

    async def _all_started(self) -> None:
        while True:
            if self._start_failure is not None:
                raise PoolStartError(f"a worker could not load its target: {self._start_failure}")
            if all(worker.state != "starting" for worker in self._workers):
                self._started = True
                return
            await self._wait_for_change()

    async def stop(self) -> None:
        await self.drain(DEFAULT_STOP_GRACE_S)

    async def drain(self, grace: float) -> None:
        """Take no new job, let queued and running jobs finish for at most `grace`
        seconds, then stop every worker. Safe before `start()` and twice; a second
        call with a smaller grace cuts the wait short."""
        if self._state == "new":
            self._state = "stopped"
        if self._state == "stopped" and self._stop_task is None:
            return
        assert self._loop is not None
        deadline = self._loop.time() + max(0.0, grace)
        if self._stop_task is None:
            self._state = "draining"
            self._drain_deadline = deadline
            self._stop_task = self._loop.create_task(self._drain_and_stop())
        elif deadline < self._drain_deadline:
            self._drain_deadline = deadline
            self._changed.set()
        await asyncio.shield(self._stop_task)

    async def _drain_and_stop(self) -> None:
        assert self._loop is not None
        while (self._queue or self.busy_workers) and self._loop.time() < self._drain_deadline:
            await self._wait_for_change(self._drain_deadline - self._loop.time())
        self._state = "stopped"
        while self._queue:
            pending = self._queue.popleft()
            _fail(pending.future, PoolStoppedError("the pool stopped before the job started"))
        self._metrics.queued.set(0)
        for worker in self._workers:
            if worker.running is not None:
                worker.running.lost_reason = (
                    "worker killed: the pool stopped before the job finished"
                )
                worker.kill()
            else:
                worker.send(_STOP)
        exit_by = self._loop.time() + EXIT_TIMEOUT_S
        while self._workers and self._loop.time() < exit_by:
            await self._wait_for_change(exit_by - self._loop.time())
        for worker in self._workers:
            worker.kill()
        while self._workers:
            await self._wait_for_change()
        self._metrics.workers.set(0)
        self._metrics.busy.set(0)

    async def _wait_for_change(self, at_most_s: float | None = None) -> None:
        self._changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), at_most_s)

    # -- workers ------------------------------------------------------------------

    def _spawn(self) -> None:
        assert self._loop is not None
        worker = WorkerProcess(
            self._context, self.target, self._loop, self._on_message, self._on_exit
        )
        self._workers.append(worker)

    def _pump(self) -> None:
        """Hand queued jobs to idle workers."""
        assert self._loop is not None
        while self._queue and self._idle:
            pending = self._queue.popleft()
            if pending.future.done():
                continue  # its caller was cancelled
            worker = self._idle.popleft()
            timer = self._loop.call_later(pending.hard_deadline_s, self._deadline_passed, worker)
            worker.running = Running(pending, self._loop.time(), timer)
            worker.state = "busy"
            if not worker.send(pending.payload):
                # Dead before it read the job: the job never began, so it goes back
                # to the front of the queue; the worker's exit is reported shortly.
                timer.cancel()
                worker.running = None
                self._queue.appendleft(pending)
                worker.kill()
        self._metrics.queued.set(len(self._queue))
        self._metrics.busy.set(self.busy_workers)

    def _deadline_passed(self, worker: WorkerProcess) -> None:
        running = worker.running
        if running is None:
            return
        running.lost_reason = (
            f"worker killed after {running.pending.hard_deadline_s:g} s: "
            "the job passed its hard deadline"
        )
        worker.killed_at_deadline = True
        _logger.warning("worker %d killed at a job's hard deadline", worker.pid)
        worker.kill()

    def _on_message(self, worker: WorkerProcess, message: Message) -> None:
        kind = message[0]
        if kind == "ready":
            worker.state = "idle"
            if self._state in ("running", "draining"):
                self._idle.append(worker)
            else:
                worker.send(_STOP)
        elif kind == "start_failed":
            worker.start_failure = self._start_failure = str(message[1])
        elif kind in ("done", "failed"):
            self._job_answered(worker, message)
        self._changed.set()
        self._pump()

    def _job_answered(self, worker: WorkerProcess, message: Message) -> None:
        running = worker.running
        if running is None:
            return
        assert self._loop is not None
        worker.running = None
        running.deadline_timer.cancel()
        held_s = self._loop.time() - running.started
        self._durations.record(held_s)
        self._metrics.job_seconds.observe(held_s)
        if message[0] == "done":
            self._metrics.jobs_ok.inc()
            _answer(running.pending.future, message[1])
        else:
            self._metrics.jobs_failed.inc()
            _fail(running.pending.future, JobFailedError(*map(str, message[1:4])))
        worker.state = "idle"
        if self._state in ("running", "draining"):
            self._idle.append(worker)
        else:
            worker.send(_STOP)

    def _on_exit(self, worker: WorkerProcess, cause: str) -> None:
        self._workers.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        running = worker.running
        worker.running = None
        # The caller hears first: nothing below may keep its job hanging.
        if running is not None:
            running.deadline_timer.cancel()
            self._metrics.jobs_lost.inc()
            reason = (
                running.lost_reason or f"worker {worker.pid} died ({cause}) while running the job"
            )
            _fail(running.pending.future, WorkerLostError(reason))
        if self._state in ("running", "draining"):
            if worker.start_failure is not None:
                self._metrics.start_failures.inc()
                _logger.error("worker %d could not start: %s", worker.pid, worker.start_failure)
                # During start() the failure is start()'s to report; later, retry slowly.
                if self._started:
                    self._respawn_later()
            else:
                if worker.killed_at_deadline:
                    self._metrics.restarted_deadline.inc()
                else:
                    self._metrics.restarted_crashed.inc()
                    _logger.warning("worker %d died (%s); replacing it", worker.pid, cause)
                self._respawn()
        self._changed.set()
        self._pump()

    def _respawn_later(self) -> None:
        assert self._loop is not None
        self._loop.call_later(RESPAWN_BACKOFF_S, self._respawn)

    def _respawn(self) -> None:
        if self._state not in ("running", "draining") or len(self._workers) >= self.size:
            return
        try:
            self._spawn()
        except OSError as error:  # out of processes or descriptors: try again shortly
            _logger.error("could not start a replacement worker: %s", error)
            self._respawn_later()


def _answer(future: asyncio.Future[Any], result: object) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
