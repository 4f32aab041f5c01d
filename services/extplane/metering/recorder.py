"""The write path: requests' rows group-committed into the store.

Concurrent RPCs queue their rows; whatever queued while a transaction was
committing goes into the next one together (up to `max_commit_events`), and
each RPC is answered only after the transaction holding its rows committed.
"""

from __future__ import annotations

from collections.abc import Sequence

from extplane.metering.rows import EventRow
from extplane.metering.store import IngestOutcome, MeteringStore
from extplane.storage import GroupCommitter


class NotServingError(RuntimeError):
    """The service is not started (or already stopped)."""


class Recorder:
    def __init__(self, store: MeteringStore, *, max_commit_events: int) -> None:
        self._store = store
        self._max_commit_events = max_commit_events
        self._committer: GroupCommitter[Sequence[EventRow], IngestOutcome] | None = None

    def start(self) -> None:
        self._committer = GroupCommitter(
            self._commit, max_weight=self._max_commit_events, weight=len
        )

    async def _commit(self, requests: list[Sequence[EventRow]]) -> list[IngestOutcome]:
        return await self._store.ingest(requests)

    async def close(self) -> None:
        """Refuse new rows; return once everything queued is committed."""
        committer = self._committer
        if committer is not None:
            await committer.close()

    async def record(self, rows: Sequence[EventRow]) -> IngestOutcome:
        """Store `rows` (one request); returns once they are durably committed."""
        committer = self._committer
        if committer is None or committer.closed:
            raise NotServingError("metering service is not serving")
        # Checked and submitted in one step of the loop: `close()` cannot come between.
        return await committer.submit(rows)
