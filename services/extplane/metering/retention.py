"""Retention: delete events older than the configured age.

Age is by event timestamp, so a summary over a range that lies wholly within
the retained age is exact before and after a prune. The store's horizon
rises with each prune (and is set when the service starts): an event older
than the horizon that arrives later, e.g. a retry of one already pruned, is
acknowledged without being stored, so it can never be counted twice.
The loop that runs `prune_once` is the kit's `RetentionLoop`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from extplane.metering.metrics import MeteringMetrics
from extplane.metering.store import MeteringStore
from extplane.runtime.timestamps import NS_PER_S

_logger = logging.getLogger(__name__)


class Retention:
    def __init__(
        self,
        store: MeteringStore,
        *,
        max_age_s: float,
        clock_ns: Callable[[], int],
        metrics: MeteringMetrics,
    ) -> None:
        self._store = store
        self._max_age_ns = int(max_age_s * NS_PER_S)
        self._clock_ns = clock_ns
        self._metrics = metrics

    def horizon_ns(self) -> int:
        return self._clock_ns() - self._max_age_ns

    async def guard(self) -> None:
        """Raise the horizon now, before any ingest: a retry of an event pruned
        before a restart must not be stored again while the first prune runs."""
        await self._store.raise_horizon(self.horizon_ns())

    async def prune_once(self) -> int:
        """Delete every event older than the horizon now; returns how many."""
        deleted = await self._store.prune(self.horizon_ns())
        self._metrics.pruned(deleted)
        if deleted:
            _logger.info("retention pruned %d metering events", deleted)
        return deleted
