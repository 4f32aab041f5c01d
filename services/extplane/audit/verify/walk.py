"""The verifier's inner loop: recompute the chain over rows in sequence order.

This is the hot path of verification (hundreds of thousands of rows a
second). A row is two values, the record's canonical bytes as stored and
its stored hash; per row the walker checks that the sequence the bytes
start with is the count it has reached (so a missing, moved or renumbered
row stops it where it is) and that SHA-256(previous hash || bytes) is the
stored hash. That the query columns say what the bytes say is the store's
part, in SQL (canonical_sql.py). The first row the walker cannot accept
stops it; `tamper.classify` then works out what happened there.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from extplane.audit.chain.canonical import SEQUENCE
from extplane.audit.chain.records import CanonicalRow, Checkpoint, HashRow
from extplane.audit.chain.signing import CheckpointVerifier


class TamperKind(IntEnum):
    """How the log differs from what was written (the numbers of `AuditTamperKind`)."""

    MODIFIED = 1
    DELETED = 2
    REORDERED = 3
    INSERTED = 4
    TRUNCATED = 5
    BAD_CHECKPOINT = 6


@dataclass(frozen=True)
class Problem:
    """The first place the log is not as written."""

    sequence: int
    kind: TamperKind
    detail: str


def signature_problem(key: CheckpointVerifier, checkpoint: Checkpoint) -> Problem | None:
    """BAD_CHECKPOINT at `checkpoint` when its signature does not verify under `key`."""
    why = key.problem(checkpoint)
    if why is None:
        return None
    return Problem(
        checkpoint.sequence,
        TamperKind.BAD_CHECKPOINT,
        f"checkpoint at sequence {checkpoint.sequence}: {why}",
    )


def row_hash(previous: bytes, row: CanonicalRow, sequence: int) -> bytes:
    """The hash `row` has if it sits at `sequence` after a record hashing to `previous`
    (its canonical bytes with `sequence` in place of the one they start with)."""
    return hashlib.sha256(previous + SEQUENCE.pack(sequence) + row[1][SEQUENCE.size :]).digest()


class ChainWalker:
    """Walks rows from `start` on, chained from `anchor`, checking the checkpoints met.

    `feed` stops at the first row that does not hash to its stored hash at
    the next sequence (returning its index; `expected` is then its sequence)
    or at a checkpoint that does not verify (setting `problem`).
    """

    def __init__(
        self,
        *,
        start: int,
        anchor: bytes,
        checkpoints: Sequence[Checkpoint],
        key: CheckpointVerifier,
    ) -> None:
        self.expected = start
        self.previous_hash = anchor
        self.records_verified = 0
        self.checkpoints_verified = 0
        self.problem: Problem | None = None
        self.last_agreeing_checkpoint: int | None = None
        self._key = key
        self._checkpoints = deque(sorted(checkpoints))
        while self._checkpoints and self._checkpoints[0].sequence < start:
            self._checkpoints.popleft()

    def _next_checkpoint(self) -> int:
        return self._checkpoints[0].sequence if self._checkpoints else -1

    def feed(self, rows: Sequence[HashRow]) -> int | None:
        """Hash `rows` as the records at the next sequences, in order."""
        sha256 = hashlib.sha256
        pack = SEQUENCE.pack
        first = expected = self.expected
        previous = self.previous_hash
        checkpoint_at = self._next_checkpoint()
        failed: int | None = None
        try:
            for canonical, digest in rows:
                # canonical[:8]: the sequence the encoding starts with (SEQUENCE).
                if (
                    canonical[:8] != pack(expected)
                    or sha256(previous + canonical).digest() != digest
                ):
                    failed = expected - first
                    break
                previous = digest
                if expected == checkpoint_at:
                    self.problem = self._check_checkpoint(digest)
                    if self.problem is not None:
                        expected += 1  # the record itself verified
                        break
                    checkpoint_at = self._next_checkpoint()
                expected += 1
        except TypeError:  # NULL or text where the bytes should be: this row fails
            failed = expected - first
        self.records_verified += expected - first
        self.expected = expected
        self.previous_hash = previous
        return failed

    def _check_checkpoint(self, digest: bytes) -> Problem | None:
        checkpoint = self._checkpoints.popleft()
        self.checkpoints_verified += 1
        bad_signature = signature_problem(self._key, checkpoint)
        if bad_signature is not None:
            return bad_signature
        if checkpoint.hash != digest:
            since = self.last_agreeing_checkpoint
            where = (
                f"after the checkpoint at sequence {since}, which agrees,"
                if since is not None
                else "before it"
            )
            return Problem(
                checkpoint.sequence,
                TamperKind.BAD_CHECKPOINT,
                f"the checkpoint at sequence {checkpoint.sequence} signs hash "
                f"{checkpoint.hash.hex()} but the log has {digest.hex()}: records {where} "
                "were rewritten and their hashes recomputed",
            )
        self.last_agreeing_checkpoint = checkpoint.sequence
        return None
