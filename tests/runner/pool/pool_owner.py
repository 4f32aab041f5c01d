"""Run by test_runner_pool_lifecycle: a process owning a pool, killed by the test.

It starts two workers, gives one a job that never ends, prints the workers'
pids on one line and waits to be killed (so it never stops its pool).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


async def main() -> None:
    from pool_jobs import Call

    from extplane.runner.pool import WorkerPool

    pool: WorkerPool[Call, object] = WorkerPool("pool_jobs:call", size=2)
    await pool.start()
    stuck = asyncio.create_task(pool.run(Call("hang")))
    await asyncio.sleep(0)  # run() hands the job to a worker before its first await
    assert pool.busy_workers == 1
    print(*pool.worker_pids(), flush=True)
    await stuck


if __name__ == "__main__":
    asyncio.run(main())
