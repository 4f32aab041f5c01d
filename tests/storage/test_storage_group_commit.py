"""GroupCommitter: concurrent submissions share commits; outcomes reach each submitter."""

from __future__ import annotations

import asyncio

import pytest

from extplane.storage import GroupCommitter


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.groups: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()
        self.fail_on = fail_on

    async def commit(self, items: list[int]) -> list[int]:
        await self.release.wait()
        self.groups.append(items)
        if self.fail_on in items:
            raise OSError("disk full")
        return [i * 10 for i in items]


async def test_submissions_during_a_commit_share_the_next_one() -> None:
    recorder = Recorder()
    committer = GroupCommitter(recorder.commit)
    recorder.release.clear()
    first = asyncio.create_task(committer.submit(0))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(committer.submit(i)) for i in range(1, 50)]
    await asyncio.sleep(0)
    recorder.release.set()
    results = await asyncio.gather(first, *rest)
    assert results == [i * 10 for i in range(50)]
    assert recorder.groups == [[0], list(range(1, 50))]


async def test_group_size_is_bounded_by_weight() -> None:
    recorder = Recorder()
    committer = GroupCommitter(recorder.commit, max_weight=10, weight=lambda i: 4)
    recorder.release.clear()
    tasks = [asyncio.create_task(committer.submit(i)) for i in range(7)]
    await asyncio.sleep(0)
    recorder.release.set()
    await asyncio.gather(*tasks)
    assert [len(g) for g in recorder.groups] == [2, 2, 2, 1]


async def test_a_failed_commit_fails_its_group_only() -> None:
    recorder = Recorder(fail_on=3)
    committer = GroupCommitter(recorder.commit, max_weight=2)
    recorder.release.clear()
    tasks = [asyncio.create_task(committer.submit(i)) for i in range(6)]
    await asyncio.sleep(0)
    recorder.release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes[:2] == [0, 10]
    assert all(isinstance(o, OSError) for o in outcomes[2:4])
    assert outcomes[4:] == [40, 50]


async def test_a_caller_that_gives_up_is_still_committed() -> None:
    recorder = Recorder()
    committer = GroupCommitter(recorder.commit)
    recorder.release.clear()
    task = asyncio.create_task(committer.submit(7))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    recorder.release.set()
    await committer.close()
    assert recorder.groups == [[7]]


async def test_close_drains_and_then_refuses() -> None:
    recorder = Recorder()
    committer = GroupCommitter(recorder.commit)
    tasks = [asyncio.create_task(committer.submit(i)) for i in range(5)]
    await asyncio.sleep(0)
    await committer.close()
    assert sorted(await asyncio.gather(*tasks)) == [0, 10, 20, 30, 40]
    with pytest.raises(RuntimeError, match="closed"):
        await committer.submit(1)
