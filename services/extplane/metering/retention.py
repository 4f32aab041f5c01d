"""Retention: a background task deleting events older than the configured age.

Age is by event timestamp, so a summary over a range that lies wholly within
the retained age is exact before and after a prune. The store's horizon
rises with each prune (and is set when the service starts): an event older
than the horizon that arrives later, e.g. a retry of one already pruned, is
acknowledged without being stored, so it can never be counted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from extplane.metering.metrics import MeteringMetrics
from extplane.metering.store import MeteringStore
from extplane.runtime.lifecycle import AsyncLifecycle
from extplane.runtime.timestamps import NS_PER_S

_logger = logging.getLogger(__name__)


class Retention(AsyncLifecycle):
    def __init__(
        self,
        store: MeteringStore,
        *,
        max_age_s: float,
        interval_s: float,
        clock_ns: Callable[[], int],
        metrics: MeteringMetrics,
    ) -> None:
        self._store = store
        self._max_age_ns = int(max_age_s * NS_PER_S)
        self._interval_s = interval_s
        self._clock_ns = clock_ns
        self._metrics = metrics
        self._task: asyncio.Task[None] | None = None

    def horizon_ns(self) -> int:
        return self._clock_ns() - self._max_age_ns

    async def start(self) -> None:
        if self._task is not None:
            return
        # At once, before any ingest: a retry of an event pruned before a restart
        # must not be stored again while the first prune is still running.
        self._store.set_horizon(self.horizon_ns())
        self._task = asyncio.create_task(self._run(), name="metering-retention")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def prune_once(self) -> int:
        """Delete every event older than the horizon now; returns how many."""
        deleted = await self._store.prune(self.horizon_ns())
        self._metrics.pruned(deleted)
        if deleted:
            _logger.info("retention pruned %d metering events", deleted)
        return deleted

    async def _run(self) -> None:
        while True:
            try:
                await self.prune_once()
            except Exception:
                # The next round tries again; ingest is unaffected.
                _logger.exception("metering retention failed; retrying in %.0f s", self._interval_s)
            await asyncio.sleep(self._interval_s)
