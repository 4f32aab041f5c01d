"""The values the audit log speaks in, from validation to the store and back.

Rows are tuples in the column order of the store's SELECTs, so the verifier
and the query path unpack them without building an object per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple


class NewEvent(NamedTuple):
    """A validated event, ready to be chained. `details` is canonical JSON (chain.py)."""

    event_id: str  # "" when the producer sent none: never deduplicated
    timestamp_ns: int
    action: str
    actor: str
    resource: str
    namespace: str
    outcome: str
    details: str
    principal: str = ""  # who the service authenticated as the writer


class StoredRecord(NamedTuple):
    """A record as the log holds it."""

    sequence: int
    timestamp_ns: int
    receive_time_ns: int
    event_id: str
    action: str
    actor: str
    resource: str
    namespace: str
    outcome: str
    details: str
    previous_hash: bytes
    hash: bytes
    principal: str = ""
    canonical_version: int = 1


# A StoredRecord's columns with the text ones as UTF-8 bytes (the store
# converts them in SQL: no per-field encode in Python), the principal's too.
ChainRow = tuple[
    int, int, int, bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes, int
]

# A record as its hash sees it: sequence (the column), canonical bytes (what
# the hash covers), previous_hash, hash. What classifying a problem reads.
CanonicalRow = tuple[int, bytes, bytes, bytes]

# What the verifier's hot loop reads: canonical bytes and the stored hash.
# No sequence (a chunk is a range of sequences; its rows are counted) and no
# previous_hash (the store compares it with the previous row's hash in SQL).
HashRow = tuple[bytes, bytes]


class HashChunk(NamedTuple):
    """The records with after < sequence <= through, for the verifier.

    `first_previous` is the stored previous_hash of sequence after + 1 (None
    when that record is missing); `first_bad_link` the first sequence above
    after + 1 whose previous_hash differs from the hash of the record before
    it (None when every link holds).
    """

    rows: list[HashRow]
    first_previous: bytes | None
    first_bad_link: int | None


class Appended(NamedTuple):
    """Where an event went: its sequence (its first recording's, for a duplicate)."""

    sequence: int
    duplicate: bool


class ChainHead(NamedTuple):
    """The last record appended: sequence 0 and the genesis hash when none was."""

    sequence: int
    hash: bytes


class Checkpoint(NamedTuple):
    """A signed commitment to the chain at `sequence` (see chain.checkpoint_payload)."""

    sequence: int
    hash: bytes
    create_time_ns: int
    key_id: str
    signature: bytes


@dataclass(frozen=True)
class LogSnapshot:
    """What verification reads first, in one consistent snapshot of the store."""

    oldest: int  # first retained sequence; 0 when the log is empty
    newest: int  # last sequence; 0 when the log is empty
    head: ChainHead  # what the service recorded on its last append
    checkpoints: Sequence[Checkpoint]  # those at or after oldest - 1, by sequence
    pruned_through: int | None  # what the newest audit.prune event names
