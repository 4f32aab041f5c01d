"""The store interface of the audit service, and how the configured one is opened.

Two implementations stand behind it: `SqliteAuditStore` (the default, a
file in the data directory; one writer thread serialises appends) and
`PostgresAuditStore` (replicas share the database; an append locks the chain
head row). Both keep the same three tables (schema.py) and pass the same
tests (tests/audit); `backends.open_store` picks one from the settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from extplane.audit.chain.records import (
    Appended,
    CanonicalRow,
    ChainHead,
    ChainRow,
    Checkpoint,
    HashChunk,
    LogSnapshot,
    NewEvent,
    StoredRecord,
)
from extplane.audit.store.record_query import RecordQuery

PRUNE_ACTION = "audit.prune"
PRUNE_ACTOR = "extplane.audit.retention"


class AppendOutcome(NamedTuple):
    """A result per submitted batch, and the head after the transaction."""

    results: list[list[Appended]]
    head: ChainHead


class PruneOutcome(NamedTuple):
    """Records first..through (`records` of them) were deleted; the prune event is
    `event_sequence`, and the head after it is `head`."""

    first: int
    through: int
    records: int
    event_sequence: int
    head: ChainHead


# (first pruned, through, count) -> the event recording the pruning
PruneEventFactory = Callable[[int, int, int], NewEvent]


class AuditStore(Protocol):
    @property
    def description(self) -> str:
        """Where the log is, for logs (never a password)."""
        ...

    async def open(self) -> None:
        """Connect and bring the schema to this code's version."""
        ...

    async def close(self) -> None:
        """Safe without `open()` and safe twice."""
        ...

    async def append(self, batches: Sequence[Sequence[NewEvent]]) -> AppendOutcome:
        """Chain every batch onto the head in one durable transaction."""
        ...

    async def chain_head(self) -> ChainHead: ...

    async def log_snapshot(self) -> LogSnapshot: ...

    async def chain_rows(self, after: int, through: int, limit: int) -> list[ChainRow]:
        """Rows with after < sequence <= through, by sequence, text as UTF-8 bytes."""
        ...

    async def canonical_rows(self, after: int, through: int, limit: int) -> list[CanonicalRow]:
        """Rows with after < sequence <= through, by sequence, as their hash sees them."""
        ...

    async def hash_chunk(self, after: int, through: int) -> HashChunk:
        """The verifier's view of after < sequence <= through, in one snapshot."""
        ...

    async def first_disagreeing(self, after: int, through: int) -> int | None:
        """The first sequence in after < sequence <= through whose query columns do
        not say what its canonical bytes say; None when all agree. Runs in the
        database, beside the verifier's walk."""
        ...

    async def sequences_with_hash(self, digest: bytes) -> list[int]: ...

    async def sequences_with_previous_hash(self, digest: bytes) -> list[int]: ...

    async def list_records(self, query: RecordQuery) -> list[StoredRecord]: ...

    async def add_checkpoint(self, checkpoint: Checkpoint) -> bool:
        """Store it; False when one exists at that sequence already."""
        ...

    async def latest_checkpoint(self) -> Checkpoint | None: ...

    async def list_checkpoints(self, after: int, limit: int) -> list[Checkpoint]:
        """Checkpoints with sequence > after, oldest first."""
        ...

    async def prune_point(self, cutoff_ns: int, max_records: int) -> int | None:
        """The checkpointed sequence retention may prune through: every record up to
        it was received before `cutoff_ns`; at most about `max_records` of them."""
        ...

    async def prune(self, through: int, event: PruneEventFactory) -> PruneOutcome | None:
        """Delete records up to `through` and append the event recording it, in
        one transaction; None when nothing was left to delete."""
        ...


def parse_pruned_through(details: str | None) -> int | None:
    """`through_sequence` of a prune event's details; None when absent or unreadable."""
    if details is None:
        return None
    try:
        value = json.loads(details).get("through_sequence")
        return int(value) if isinstance(value, str) and value.isdigit() else None
    except (ValueError, AttributeError):
        return None
