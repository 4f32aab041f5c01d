"""An export (JSONL) and its checkpoints as a `ChainSource`, so that a log is
verified with no service by the very code that verifies the store.

Each record's canonical bytes are rebuilt from its JSON fields (docs/audit.md:
the encoding its `canonicalVersion` names), so its "columns" say what its
bytes say by construction; what can disagree is a version 1 record claiming
a principal, or a version this code does not know. An export has no
separate chain head: the last record stands for it, so the tail checks see
a cut-off export only through a checkpoint beyond it (TRUNCATED).
"""

from __future__ import annotations

import base64
import bisect
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from google.protobuf.timestamp_pb2 import Timestamp

from extplane.audit.chain.canonical import CURRENT_VERSION, canonical_bytes, canonical_details
from extplane.audit.chain.records import (
    CanonicalRow,
    ChainHead,
    ChainRow,
    Checkpoint,
    HashChunk,
    LogSnapshot,
)
from extplane.audit.store import PRUNE_ACTION, PRUNE_ACTOR, parse_pruned_through

_TEXTS = ("eventId", "action", "actor", "resource", "namespace", "outcome")


class ExportFormatError(ValueError):
    """A line of the export or of the checkpoints is not what an export holds."""


def nanoseconds(rfc3339: str) -> int:
    stamp = Timestamp()
    stamp.FromJsonString(rfc3339)
    return stamp.ToNanoseconds()


class _Row(NamedTuple):
    sequence: int
    canonical: bytes
    previous_hash: bytes
    hash: bytes
    columns: ChainRow
    agrees: bool
    prune_details: str | None


def _row(record: Mapping[str, Any]) -> _Row:
    event = record["event"]
    sequence = int(record["sequence"])
    timestamp_ns = nanoseconds(event["timestamp"])
    receive_ns = nanoseconds(record["receiveTime"])
    event_id, action, actor, resource, namespace, outcome = (
        str(event.get(name, "")).encode() for name in _TEXTS
    )
    details = canonical_details(event.get("details", {}))
    texts = (event_id, action, actor, resource, namespace, outcome, details.encode())
    version = int(record.get("canonicalVersion", 1) or 1)
    principal = str(record.get("principal", "")).encode()
    canonical = canonical_bytes(
        sequence,
        timestamp_ns,
        receive_ns,
        *texts,
        principal=None if version == 1 else principal,
    )
    previous, digest = bytes.fromhex(record["previousHash"]), bytes.fromhex(record["hash"])
    columns: ChainRow = (
        sequence,
        timestamp_ns,
        receive_ns,
        *texts,
        previous,
        digest,
        principal,
        version,
    )
    agrees = version == CURRENT_VERSION or (version == 1 and not principal)
    is_prune = event.get("action") == PRUNE_ACTION and event.get("actor") == PRUNE_ACTOR
    prune = details if is_prune else None
    return _Row(sequence, canonical, previous, digest, columns, agrees, prune)


def parse_records(lines: Iterable[str]) -> list[_Row]:
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(_row(json.loads(line)))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ExportFormatError(f"line {number} is not an exported record: {error}") from None
    return rows


def checkpoint_of_json(value: Mapping[str, Any]) -> Checkpoint:
    """An `AuditCheckpoint` as the gateway or `extplane audit checkpoints` writes it."""
    return Checkpoint(
        int(value["sequence"]),
        bytes.fromhex(value["hash"]),
        nanoseconds(value["createTime"]),
        str(value["keyId"]),
        base64.b64decode(value["signature"], validate=True),
    )


def parse_checkpoints(text: str) -> list[Checkpoint]:
    """JSONL (one checkpoint a line), a JSON list, or a ListAuditCheckpoints response."""
    stripped = text.strip()
    try:
        if stripped.startswith("["):
            values = json.loads(stripped)
        elif stripped.startswith("{") and '"checkpoints"' in stripped.split("\n", 1)[0]:
            values = json.loads(stripped)["checkpoints"]
        else:
            values = [json.loads(line) for line in stripped.splitlines() if line.strip()]
        return sorted(checkpoint_of_json(value) for value in values)
    except (ValueError, KeyError, TypeError) as error:
        raise ExportFormatError(f"not a list of checkpoints: {error}") from None


class ExportSource:
    def __init__(self, rows: Sequence[_Row], checkpoints: Sequence[Checkpoint]) -> None:
        self._rows = sorted(rows, key=lambda row: row.sequence)
        self._sequences = [row.sequence for row in self._rows]
        self._checkpoints = sorted(checkpoints)

    def _between(self, after: int, through: int) -> list[_Row]:
        low = bisect.bisect_right(self._sequences, after)
        high = bisect.bisect_right(self._sequences, through)
        return self._rows[low:high]

    def _at(self, sequence: int) -> _Row | None:
        found = self._between(sequence - 1, sequence)
        return found[0] if found else None

    async def log_snapshot(self) -> LogSnapshot:
        if not self._rows:
            return LogSnapshot(0, 0, ChainHead(0, bytes(32)), self._checkpoints, None)
        oldest, last = self._rows[0].sequence, self._rows[-1]
        prunes = [row.prune_details for row in self._rows if row.prune_details is not None]
        return LogSnapshot(
            oldest=oldest,
            newest=last.sequence,
            head=ChainHead(last.sequence, last.hash),
            checkpoints=[c for c in self._checkpoints if c.sequence >= oldest - 1],
            pruned_through=parse_pruned_through(prunes[-1] if prunes else None),
        )

    async def hash_chunk(self, after: int, through: int) -> HashChunk:
        rows = self._between(after, through)
        first = self._at(after + 1)
        bad_link = None
        for row in rows:
            before = self._at(row.sequence - 1)
            if row.sequence > after + 1 and before is not None and row.previous_hash != before.hash:
                bad_link = row.sequence
                break
        return HashChunk(
            [(row.canonical, row.hash) for row in rows],
            None if first is None else first.previous_hash,
            bad_link,
        )

    async def first_disagreeing(self, after: int, through: int) -> int | None:
        return next((r.sequence for r in self._between(after, through) if not r.agrees), None)

    async def canonical_rows(self, after: int, through: int, limit: int) -> list[CanonicalRow]:
        rows = self._between(after, through)[:limit]
        return [(row.sequence, row.canonical, row.previous_hash, row.hash) for row in rows]

    async def chain_rows(self, after: int, through: int, limit: int) -> list[ChainRow]:
        return [row.columns for row in self._between(after, through)[:limit]]

    async def sequences_with_hash(self, digest: bytes) -> list[int]:
        return [row.sequence for row in self._rows if row.hash == digest]

    async def sequences_with_previous_hash(self, digest: bytes) -> list[int]:
        return [row.sequence for row in self._rows if row.previous_hash == digest]
