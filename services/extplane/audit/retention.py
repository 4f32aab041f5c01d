"""Retention: prune records stored longer ago than the configured age.

Pruning never leaves a log that cannot be verified: it deletes only up to a
sequence a signed checkpoint covers (that checkpoint's hash then anchors the
first retained record, and checkpoints are never deleted), and it appends an
`audit.prune` event naming what it removed in the same transaction, so the
pruning is itself in the chain and the verifier can tell it from a deletion.
A record received after the cutoff is never pruned; records received before
it wait for the next checkpoint. The loop that runs `prune_once` is the kit's
`RetentionLoop`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from extplane.audit.chain.canonical import canonical_details
from extplane.audit.chain.records import NewEvent
from extplane.audit.checkpointer import Checkpointer
from extplane.audit.metrics import AuditMetrics
from extplane.audit.store import PRUNE_ACTION, PRUNE_ACTOR, AuditStore, PruneOutcome
from extplane.runtime.timestamps import NS_PER_S, rfc3339

_logger = logging.getLogger(__name__)


class Retention:
    def __init__(
        self,
        store: AuditStore,
        checkpointer: Checkpointer,
        *,
        max_age_s: float,
        max_records: int,
        metrics: AuditMetrics,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._store = store
        self._checkpointer = checkpointer
        self._max_age_ns = int(max_age_s * NS_PER_S)
        self._max_records = max_records
        self._metrics = metrics
        self._clock_ns = clock_ns

    async def prune_once(self) -> list[PruneOutcome]:
        """Prune everything old enough now; one transaction per step."""
        cutoff = self._clock_ns() - self._max_age_ns
        done: list[PruneOutcome] = []
        while True:
            through = await self._store.prune_point(cutoff, self._max_records)
            if through is None:
                return done
            outcome = await self._store.prune(through, self._event_factory(cutoff))
            if outcome is None:
                return done
            done.append(outcome)
            self._metrics.pruned.inc(outcome.records)
            self._checkpointer.committed(outcome.head)
            _logger.info(
                "audit retention pruned records %d..%d (%d), recorded as sequence %d",
                outcome.first,
                outcome.through,
                outcome.records,
                outcome.event_sequence,
            )

    def _event_factory(self, cutoff_ns: int) -> Callable[[int, int, int], NewEvent]:
        def event(first: int, through: int, records: int) -> NewEvent:
            details = {
                "from_sequence": str(first),
                "through_sequence": str(through),
                "records": str(records),
                "cutoff": rfc3339(cutoff_ns),
            }
            return NewEvent(
                event_id=f"extplane.audit.prune.{through}",
                timestamp_ns=self._clock_ns(),
                action=PRUNE_ACTION,
                actor=PRUNE_ACTOR,
                resource="audit_records",
                namespace="",
                outcome="allowed",
                details=canonical_details(details),
                principal=PRUNE_ACTOR,
            )

        return event
