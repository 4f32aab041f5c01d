"""Verification of a range of the log: its anchor, the chain walk, the tail.

The walk streams rows from the store in chunks, so a log of millions of
records is never held in memory. docs/audit.md states the rules; in short:

* anchor: the range starts right after the newest checkpoint below it (its
  signed hash is the anchor), else at sequence 1 from 32 zero bytes. A log
  whose oldest records were pruned starts after the checkpoint retention
  pruned up to, and the newest `audit.prune` event must name that sequence.
* walk: every record must sit at the next sequence, store the previous hash,
  hash to its stored hash, and have query columns that say what its hashed
  bytes say; every checkpoint met must verify and sign the record's hash.
  The hot loop (walk.py) reads only the canonical bytes and the hash; the
  store compares the stored previous hashes in SQL, and — concurrently, on
  another connection (another core for SQLite, the server for PostgreSQL) —
  the columns with the canonical bytes. The first failure is classified
  (tamper.py) from the record's bytes.
* tail: when the range reaches the head, no checkpoint may lie beyond the
  last record (TRUNCATED), and the head the service recorded on its last
  append must be the last record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from extplane.audit.chain.canonical import GENESIS
from extplane.audit.chain.records import Checkpoint, HashChunk, LogSnapshot
from extplane.audit.chain.signing import CheckpointVerifier
from extplane.audit.verify.tamper import ChainLookup, classify
from extplane.audit.verify.walk import ChainWalker, Problem, TamperKind, signature_problem
from extplane.runtime.bad_request import FieldViolation, InvalidRequestError

# One chunk of rows is in memory at a time (some MB).
CHUNK_ROWS = 20_000


class ChainSource(ChainLookup, Protocol):
    async def log_snapshot(self) -> LogSnapshot: ...

    async def hash_chunk(self, after: int, through: int) -> HashChunk: ...

    async def first_disagreeing(self, after: int, through: int) -> int | None: ...


class RangeError(InvalidRequestError):
    """The requested range is not in the log."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__([FieldViolation(field, description)])


@dataclass(frozen=True)
class Verdict:
    from_sequence: int
    to_sequence: int  # the last record that verified
    records_verified: int
    checkpoints_verified: int
    head_hash: bytes  # hash of the record at to_sequence
    problem: Problem | None

    @property
    def intact(self) -> bool:
        return self.problem is None


async def verify_log(
    source: ChainSource,
    key: CheckpointVerifier,
    *,
    from_sequence: int = 0,
    to_sequence: int = 0,
    chunk_rows: int = CHUNK_ROWS,
) -> Verdict:
    """Verify [from_sequence, to_sequence] (0: the oldest retained record / the head).

    Pruning that runs meanwhile (here or in another replica) can remove rows
    the walk has not reached; a failure then is re-checked once on a fresh
    snapshot rather than reported.
    """
    snapshot = await source.log_snapshot()
    verdict = await _verify(source, key, snapshot, from_sequence, to_sequence, chunk_rows)
    if verdict.intact:
        return verdict
    again = await source.log_snapshot()
    if again.oldest == snapshot.oldest:
        return verdict
    return await _verify(source, key, again, from_sequence, to_sequence, chunk_rows)


def _range(snapshot: LogSnapshot, from_sequence: int, to_sequence: int) -> tuple[int, int]:
    if from_sequence < 0:
        raise RangeError("from_sequence", "must not be negative")
    if to_sequence < 0:
        raise RangeError("to_sequence", "must not be negative")
    if to_sequence and to_sequence < from_sequence:
        raise RangeError("to_sequence", f"must not be below from_sequence ({from_sequence})")
    if from_sequence > snapshot.newest:
        raise RangeError("from_sequence", f"beyond the head of the log ({snapshot.newest})")
    if to_sequence and to_sequence < snapshot.oldest:
        raise RangeError(
            "to_sequence", f"records before {snapshot.oldest} were pruned by retention"
        )
    first = max(from_sequence, snapshot.oldest)
    last = min(to_sequence, snapshot.newest) if to_sequence else snapshot.newest
    return first, last


async def _verify(
    source: ChainSource,
    key: CheckpointVerifier,
    snapshot: LogSnapshot,
    from_sequence: int,
    to_sequence: int,
    chunk_rows: int,
) -> Verdict:
    if snapshot.newest == 0:
        _range(snapshot, from_sequence, to_sequence)
        return Verdict(0, 0, 0, 0, GENESIS, _tail_problem(snapshot, key, GENESIS))
    first, last = _range(snapshot, from_sequence, to_sequence)
    start, anchor, problem, anchors_checked = _anchor(snapshot, key, first)
    if problem is not None:
        return Verdict(start, start - 1, 0, anchors_checked, anchor, problem)
    walker = ChainWalker(
        start=start,
        anchor=anchor,
        checkpoints=[c for c in snapshot.checkpoints if start <= c.sequence <= last],
        key=key,
    )
    problem = await _walk(source, walker, start, last, chunk_rows)
    if problem is None and last == snapshot.newest:
        problem = _tail_problem(snapshot, key, walker.previous_hash)
    return Verdict(
        start,
        walker.expected - 1,
        walker.records_verified,
        walker.checkpoints_verified + anchors_checked,
        walker.previous_hash,
        problem,
    )


def _anchor(
    snapshot: LogSnapshot, key: CheckpointVerifier, first: int
) -> tuple[int, bytes, Problem | None, int]:
    """(start, anchor hash, problem, checkpoints checked) for a range from `first`."""
    oldest = snapshot.oldest
    below = [c for c in snapshot.checkpoints if oldest - 1 <= c.sequence < first]
    if oldest > 1:
        problem = _pruning_problem(snapshot, below)
        if problem is not None:
            return oldest, GENESIS, problem, 0
    if below:
        checkpoint = below[-1]
        return checkpoint.sequence + 1, checkpoint.hash, signature_problem(key, checkpoint), 1
    return 1, GENESIS, None, 0


def _pruning_problem(snapshot: LogSnapshot, below: Sequence[Checkpoint]) -> Problem | None:
    """Records before `oldest` are gone: only retention may have removed them."""
    oldest = snapshot.oldest
    if not below or below[0].sequence != oldest - 1:
        return Problem(
            1 if snapshot.pruned_through is None else snapshot.pruned_through + 1,
            TamperKind.DELETED,
            f"the log starts at sequence {oldest}, but no checkpoint at {oldest - 1} anchors "
            "it: retention prunes only up to a checkpoint",
        )
    if snapshot.pruned_through != oldest - 1:
        pruned = snapshot.pruned_through or 0
        named = (
            "no audit.prune event"
            if snapshot.pruned_through is None
            else (f"the newest audit.prune event removed records through {pruned}")
        )
        return Problem(
            pruned + 1,
            TamperKind.DELETED,
            f"the log starts at sequence {oldest}, but {named}",
        )
    return None


def _chunks(start: int, last: int, chunk_rows: int) -> Iterator[tuple[int, int]]:
    """(after, through) of each chunk of [start, last]."""
    for after in range(start - 1, last, chunk_rows):
        yield after, min(after + chunk_rows, last)


class _ColumnChecks:
    """The store's column check of each chunk, one chunk ahead of the walk.

    The check of chunk i+1 starts as soon as chunk i's result is taken, so
    it runs while the walk hashes chunk i and reads chunk i+1: on SQLite in
    another reader thread (the database steps without the GIL), on
    PostgreSQL in the server.
    """

    def __init__(self, source: ChainSource, chunks: Iterator[tuple[int, int]]) -> None:
        self._source = source
        self._chunks = chunks
        self._pending: asyncio.Future[int | None] | None = None
        self._start_next()

    def _start_next(self) -> None:
        chunk = next(self._chunks, None)
        self._pending = (
            None if chunk is None else asyncio.ensure_future(self._source.first_disagreeing(*chunk))
        )

    async def next_result(self) -> int | None:
        """The first disagreeing sequence of the next chunk (None: they all agree)."""
        assert self._pending is not None, "more results taken than chunks"
        found = await self._pending
        self._start_next()
        return found

    async def close(self) -> None:
        """Drop the check running ahead: the walk stopped, its answer is not needed
        (whatever it is, even an error)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)


async def _walk(
    source: ChainSource, walker: ChainWalker, start: int, last: int, chunk_rows: int
) -> Problem | None:
    # Reading a chunk and hashing it take turns, not overlapped: both need the
    # GIL, and a reader thread contending with a hashing thread convoys. The
    # column check needs no GIL while the database runs it, so it overlaps.
    checks = _ColumnChecks(source, _chunks(start, last, chunk_rows))
    try:
        for after, through in _chunks(start, last, chunk_rows):
            chunk = await source.hash_chunk(after, through)
            disagreeing = await checks.next_result()
            rows = chunk.rows
            if chunk.first_previous is not None and chunk.first_previous != walker.previous_hash:
                rows = []  # the link into this chunk is broken: classify its first record
            else:
                stops = [s for s in (chunk.first_bad_link, disagreeing) if s is not None]
                if stops:
                    rows = rows[: min(stops) - after - 1]
            await asyncio.to_thread(walker.feed, rows)
            if walker.problem is not None:
                return walker.problem
            if walker.expected <= through:
                return await _classify_at(source, walker, start, last)
        return None
    finally:
        await checks.close()


async def _classify_at(source: ChainSource, walker: ChainWalker, start: int, last: int) -> Problem:
    """The walk stopped before `last`: read the whole record where it stopped."""
    following = await source.canonical_rows(walker.expected - 1, last, 1)
    if not following:
        return Problem(
            walker.expected,
            TamperKind.DELETED,
            f"records {walker.expected}..{last} are gone from the end of the log",
        )
    return await classify(
        following[0],
        expected=walker.expected,
        previous_hash=walker.previous_hash,
        start=start,
        lookup=source,
    )


def _tail_problem(
    snapshot: LogSnapshot, key: CheckpointVerifier, newest_hash: bytes
) -> Problem | None:
    newest, head = snapshot.newest, snapshot.head
    beyond = [c for c in snapshot.checkpoints if c.sequence > newest]
    for checkpoint in beyond:
        bad_signature = signature_problem(key, checkpoint)
        if bad_signature is not None:
            return bad_signature
    if beyond:
        return Problem(
            newest + 1,
            TamperKind.TRUNCATED,
            f"the log ends at sequence {newest}, but a signed checkpoint covers records "
            f"through {beyond[-1].sequence}",
        )
    if head.sequence > newest:
        return Problem(
            newest + 1,
            TamperKind.DELETED,
            f"the log ends at sequence {newest}, but the service appended through {head.sequence}",
        )
    if head.sequence < newest:
        return Problem(
            head.sequence + 1,
            TamperKind.INSERTED,
            f"records {head.sequence + 1}..{newest} were added after the last append the "
            "service made",
        )
    if head.hash != newest_hash:
        return Problem(
            newest,
            TamperKind.MODIFIED,
            f"record {newest} hashes to {newest_hash.hex()}, but the service appended it "
            f"with hash {head.hash.hex()}: it was rewritten and its hash recomputed",
        )
    return None
