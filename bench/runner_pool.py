"""Benchmark the runner's worker pool: round trips through worker processes against
calling the job inline, and two workers against one on a CPU-bound job, in one run.

    .venv/bin/python bench/runner_pool.py           # about a minute
    .venv/bin/python bench/runner_pool.py --quick   # a few seconds, rough figures

Rows (see bench/README.md):
(a) `noop.pool1`, `noop.pool2`: `WorkerPool.run` of a no-op job (an int there
    and back: pickling, the pipe, the worker's loop, the event loop's wake-up)
    with 1 and 2 workers, against calling the same function inline in this
    process. The ratio is the pool's whole cost per job on the cheapest job.
(b) `cpu.pool2`: a CPU-bound job (about a millisecond of hashing) through 2
    workers against 1 worker: how the pool scales with processes (2.0 at best
    on 2 free cores; the event loop's share of the round trip and the
    neighbours' load take it lower).
Every job's answer is checked; IN_FLIGHT calls at a time, within the queue bound.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from _harness import BenchmarkError, Comparison, Op, Plan, bench_arguments, compare, plan_from
from _pool_jobs import noop
from _report import format_table, run_header

from extplane.runner.jobs import PoolBusyError, WorkerLostError
from extplane.runner.pool import JobFailedError, WorkerPool

IN_FLIGHT = 8


def _print(line: str) -> None:
    print(line, flush=True)


@asynccontextmanager
async def _pool(function: str, size: int) -> AsyncIterator[WorkerPool[int, int]]:
    pool: WorkerPool[int, int] = WorkerPool(
        f"_pool_jobs:{function}", size=size, queue_bound=IN_FLIGHT, name=f"bench-{size}"
    )
    await pool.start()
    try:
        yield pool
    finally:
        await pool.drain(0)


def _pool_op(pool: WorkerPool[int, int]) -> Op:
    numbers = itertools.count()

    async def op() -> object:
        job = next(numbers)
        if await pool.run(job) != job:
            raise BenchmarkError("the pool answered another job's result")
        return None

    return op


def _inline_op() -> Op:
    numbers = itertools.count()

    async def op() -> object:
        job = next(numbers)
        if noop(job) != job:
            raise BenchmarkError("the inline call answered another result")
        return None

    return op


async def run(plan: Plan) -> list[str]:
    rows: list[Comparison] = []
    inline = [_inline_op() for _ in range(IN_FLIGHT)]
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(_pool("noop", 1))
        two = await stack.enter_async_context(_pool("noop", 2))
        rows.append(await compare("noop.pool1", [_pool_op(one)] * IN_FLIGHT, inline, plan=plan))
        rows.append(await compare("noop.pool2", [_pool_op(two)] * IN_FLIGHT, inline, plan=plan))
    async with AsyncExitStack() as stack:
        one = await stack.enter_async_context(_pool("cpu", 1))
        two = await stack.enter_async_context(_pool("cpu", 2))
        rows.append(
            await compare(
                "cpu.pool2", [_pool_op(two)] * IN_FLIGHT, [_pool_op(one)] * IN_FLIGHT, plan=plan
            )
        )
    return ["", format_table(rows), *summary(rows)]


def summary(rows: list[Comparison]) -> list[str]:
    """The no-op rows' rates and ratios in full (the table rounds them to 0.01)."""
    noop1, noop2, cpu2 = rows
    lines = [
        f"noop round trips/s: {noop1.subject.ops_per_s:,.0f} with 1 worker "
        f"({noop1.ratio:.5f} of inline), {noop2.subject.ops_per_s:,.0f} with 2 "
        f"({noop2.ratio:.5f}); inline {noop1.baseline.ops_per_s:,.0f}/s",
        f"cpu jobs: 2 workers {cpu2.ratio:.2f}x the rate of 1",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(__doc__.splitlines()[0] if __doc__ else "").parse_args(argv)
    plan = plan_from(args)
    for name in [n for n in os.environ if n.startswith("EXTPLANE_")]:
        del os.environ[name]
    notes = [
        f"{IN_FLIGHT} jobs in flight; noop.*: baseline = the job called inline; "
        "cpu.pool2: baseline = the same pool with one worker",
    ]
    _print(run_header("extplane bench: runner worker pool", plan, notes=notes))
    try:
        lines = asyncio.run(run(plan))
    except (BenchmarkError, PoolBusyError, WorkerLostError, JobFailedError) as err:
        print(f"bench: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    for line in lines:
        _print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
