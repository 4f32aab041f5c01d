"""Group commit: concurrent writers share one transaction.

A durable commit costs an fsync; one per RPC would cap throughput at the
disk's sync rate. Instead, submissions that arrive while a transaction is in
flight wait together and go in the next one, and each submitter is answered
only after the transaction holding its item has committed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from extplane.errors import NotServingError

T = TypeVar("T")
R = TypeVar("R")


class CommitterClosedError(NotServingError, RuntimeError):
    """`submit()` after `close()`: a refusal the caller may retry (elsewhere, later)."""


class GroupCommitter(Generic[T, R]):
    """Hands queued items to `commit` in groups; `commit` returns one result per item.

    `weight(item)` (default 1) and `max_weight` bound one transaction's size,
    e.g. by events rather than by requests. If `commit` raises, every item of
    that group gets the exception: none of them was acknowledged.
    """

    def __init__(
        self,
        commit: Callable[[list[T]], Awaitable[list[R]]],
        *,
        max_weight: int = 10_000,
        weight: Callable[[T], int] = lambda _item: 1,
    ) -> None:
        self._commit = commit
        self._max_weight = max_weight
        self._weight = weight
        self._pending: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._drainer: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, item: T) -> R:
        """`commit`'s result for `item`, once its group committed; raises
        `CommitterClosedError` (UNAVAILABLE) after `close()`."""
        if self._closed:
            raise CommitterClosedError("group committer is closed: the service is stopping")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        # A caller that gave up never reads the outcome; mark it read.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._pending.append((item, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        # Shielded: a caller that gives up does not take its item back out of
        # a transaction that may already have committed it.
        return await asyncio.shield(future)

    def _take_group(self) -> list[tuple[T, asyncio.Future[R]]]:
        group: list[tuple[T, asyncio.Future[R]]] = []
        total = 0
        while self._pending:
            item, future = self._pending[0]
            weight = self._weight(item)
            if group and total + weight > self._max_weight:
                break
            self._pending.popleft()
            group.append((item, future))
            total += weight
        return group

    async def _drain(self) -> None:
        while self._pending:
            group = self._take_group()
            try:
                results = await self._commit([item for item, _ in group])
            except Exception as error:
                _fail(group, error)
                continue
            except BaseException as error:
                _fail(group, RuntimeError(f"commit interrupted: {error!r}"))
                raise
            if len(results) != len(group):
                _fail(
                    group, RuntimeError(f"commit returned {len(results)} results for {len(group)}")
                )
                continue
            for (_, future), result in zip(group, results, strict=True):
                future.set_result(result)

    @property
    def closed(self) -> bool:
        """True once `close()` was called: `submit` refuses from then on."""
        return self._closed

    async def close(self) -> None:
        """Refuse new items and wait until every queued one is committed."""
        self._closed = True
        while self._drainer is not None and not self._drainer.done():
            await asyncio.shield(self._drainer)


def _fail(group: list[tuple[T, asyncio.Future[R]]], error: BaseException) -> None:
    # Only the drainer resolves these futures (callers wait through a shield).
    for _, future in group:
        future.set_exception(error)
