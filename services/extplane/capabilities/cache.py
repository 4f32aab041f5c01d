"""A short TTL cache whose refreshes are single-flight.

Concurrent callers share one in-flight refresh, so N simultaneous requests cost
each provider one call, with the cache enabled or not (`ttl_s=0` only stops
finished results from being kept). A refresh may declare its result not worth
keeping (e.g. it was cut short by one caller's tight deadline): it is handed to
the callers that waited for it, and the next caller refreshes again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from extplane.capabilities.types import Clock

T = TypeVar("T")


@dataclass(frozen=True)
class Fresh(Generic[T]):
    """A refresh result and whether it may be served to later callers."""

    value: T
    cacheable: bool = True


class SingleFlightCache(Generic[T]):
    def __init__(self, ttl_s: float, *, clock: Clock = time.monotonic) -> None:
        if ttl_s < 0:
            raise ValueError(f"ttl_s must be >= 0, got {ttl_s}")
        self._ttl_s = ttl_s
        self._clock = clock
        self._cached: tuple[T, float] | None = None
        self._inflight: asyncio.Task[Fresh[T]] | None = None

    async def get(self, refresh: Callable[[], Awaitable[Fresh[T]]]) -> T:
        """The cached value while fresh; otherwise the result of one shared `refresh()`."""
        if self._cached is not None:
            value, expires_at = self._cached
            if self._clock() < expires_at:
                return value
        if self._inflight is None:
            self._inflight = asyncio.create_task(self._run(refresh))
        # Shielded: a caller that gives up (deadline, disconnect) must not cancel the
        # refresh the other callers are waiting on.
        return (await asyncio.shield(self._inflight)).value

    async def _run(self, refresh: Callable[[], Awaitable[Fresh[T]]]) -> Fresh[T]:
        try:
            fresh = await refresh()
            if fresh.cacheable and self._ttl_s > 0:
                self._cached = (fresh.value, self._clock() + self._ttl_s)
            return fresh
        finally:
            self._inflight = None

    def invalidate(self) -> None:
        self._cached = None

    async def close(self) -> None:
        """Cancel a refresh still in flight and forget the cached value."""
        task, self._inflight = self._inflight, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.invalidate()
