"""The store interface of the audit service, in the values of `chain.records`.

Two implementations stand behind it: `SqliteAuditStore` (the default, a
file in the data directory; one writer thread serialises appends) and
`PostgresAuditStore` (replicas share the database; an append locks the chain
head row). Both keep the same three tables (schema.py) and pass the same
tests (tests/audit); `service.audit_store` picks one from the settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from extplane.audit.chain import records
from extplane.audit.store.record_query import RecordQuery

PRUNE_ACTION = "audit.prune"
PRUNE_ACTOR = "extplane.audit.retention"


class AppendOutcome(NamedTuple):
    """A result per submitted batch, and the head after the transaction."""

    results: list[list[records.Appended]]
    head: records.ChainHead


class PruneOutcome(NamedTuple):
    """Records first..through (`records` of them) were deleted; the prune event is
    `event_sequence`, and the head after it is `head`."""

    first: int
    through: int
    records: int
    event_sequence: int
    head: records.ChainHead


# (first pruned, through, count) -> the event recording the pruning
PruneEventFactory = Callable[[int, int, int], records.NewEvent]


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

    async def append(self, batches: Sequence[Sequence[records.NewEvent]]) -> AppendOutcome:
        """Chain every batch onto the head in one durable transaction."""
        ...

    async def chain_head(self) -> records.ChainHead: ...

    async def log_snapshot(self) -> records.LogSnapshot: ...

    async def chain_rows(self, after: int, through: int, limit: int) -> list[records.ChainRow]:
        """Rows with after < sequence <= through, by sequence, text as UTF-8 bytes."""
        ...

    async def canonical_rows(
        self, after: int, through: int, limit: int
    ) -> list[records.CanonicalRow]:
        """Rows with after < sequence <= through, by sequence, as their hash sees them."""
        ...

    async def hash_chunk(self, after: int, through: int) -> records.HashChunk:
        """The verifier's view of after < sequence <= through, in one snapshot."""
        ...

    async def first_disagreeing(self, after: int, through: int) -> int | None:
        """The first sequence in after < sequence <= through whose query columns do
        not say what its canonical bytes say; None when all agree. Runs in the
        database, beside the verifier's walk."""
        ...

    async def sequences_with_hash(self, digest: bytes) -> list[int]: ...

    async def sequences_with_previous_hash(self, digest: bytes) -> list[int]: ...

    async def list_records(self, query: RecordQuery) -> list[records.StoredRecord]: ...

    async def add_checkpoint(self, checkpoint: records.Checkpoint) -> bool:
        """Store it; False when one exists at that sequence already."""
        ...

    async def latest_checkpoint(self) -> records.Checkpoint | None: ...

    async def checkpoint_key_ids(self) -> list[str]:
        """Every key id a stored checkpoint names."""
        ...

    async def list_checkpoints(self, after: int, limit: int) -> list[records.Checkpoint]:
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
