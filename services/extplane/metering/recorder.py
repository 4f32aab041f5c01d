"""The write path: requests' rows group-committed into the store.

Concurrent RPCs queue their rows; whatever queued while a transaction was
committing goes into the next one together (up to `max_commit_events`), and
each RPC is answered only after the transaction holding its rows committed.
"""

from __future__ import annotations

from collections.abc import Sequence

from extplane.metering.event_rows import EventRow
from extplane.metering.store import IngestOutcome, MeteringStore
from extplane.storage import GroupCommitter


class Recorder:
    def __init__(self, store: MeteringStore, *, max_commit_events: int) -> None:
        self._store = store
        self._committer: GroupCommitter[Sequence[EventRow], IngestOutcome] = GroupCommitter(
            self._commit, max_weight=max_commit_events, weight=len
        )

    async def _commit(self, requests: list[Sequence[EventRow]]) -> list[IngestOutcome]:
        return await self._store.ingest(requests)

    async def record(self, rows: Sequence[EventRow]) -> IngestOutcome:
        """Store `rows` (one request); returns once they are durably committed.

        Raises `NotServingError` once `close()` was called."""
        return await self._committer.submit(rows)

    async def close(self) -> None:
        """Refuse new rows; return once everything queued is committed."""
        await self._committer.close()
