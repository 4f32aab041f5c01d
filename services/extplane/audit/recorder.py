"""Appending validated events: concurrent requests share one transaction.

Each request's events are one item of a `GroupCommitter`; the store chains
every item of a group in one durable transaction, and each request is
answered after that commit (an acknowledged event is on disk).
"""

from __future__ import annotations

from collections.abc import Sequence

from extplane.audit.chain.records import Appended, NewEvent
from extplane.audit.checkpointer import Checkpointer
from extplane.audit.metrics import AuditMetrics
from extplane.audit.store import AuditStore
from extplane.storage import GroupCommitter


class Recorder:
    def __init__(
        self,
        store: AuditStore,
        checkpointer: Checkpointer,
        *,
        max_commit_events: int,
        metrics: AuditMetrics,
    ) -> None:
        self._store = store
        self._checkpointer = checkpointer
        self._metrics = metrics
        self._committer: GroupCommitter[Sequence[NewEvent], list[Appended]] = GroupCommitter(
            self._commit, max_weight=max_commit_events, weight=len
        )

    async def record(self, events: Sequence[NewEvent]) -> list[Appended]:
        """Where each event went, once the transaction holding them committed."""
        return await self._committer.submit(events)

    async def close(self) -> None:
        """Refuse new events and wait until the queued ones are committed."""
        await self._committer.close()

    async def _commit(self, batches: list[Sequence[NewEvent]]) -> list[list[Appended]]:
        outcome = await self._store.append(batches)
        self._checkpointer.committed(outcome.head)
        duplicates = sum(a.duplicate for results in outcome.results for a in results)
        total = sum(len(results) for results in outcome.results)
        self._metrics.recorded.inc(total - duplicates)
        self._metrics.duplicates.inc(duplicates)
        return outcome.results
