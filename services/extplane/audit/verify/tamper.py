"""What happened at the first row the chain walk could not accept.

Every record's hash covers its sequence number and its predecessor's hash,
so a record that was moved still verifies *at the position it was written
at* (its "home"), chained from the hash it stores. A row is judged by its
canonical bytes (what its hash covers), with the sequence it sits at in
place of the one they start with. The rules, in order (the row sits at
sequence p; the walk expected predecessor hash E):

1. sequence > expected: the expected one is missing -> DELETED there.
2. sequence < expected: a second record with that sequence -> INSERTED.
3. it stores E and verifies at p: the chain holds, so what is wrong is the
   row's columns (what listing and export read), which say something else
   than its canonical bytes -> MODIFIED at p, naming the columns.
4. it stores E as predecessor but does not hash to its stored hash: when the
   next row is the record written at p (chained from E, verifying at p), this
   one was slipped in front of it -> INSERTED at p; else -> MODIFIED at p.
5. it verifies at p from the predecessor it stores, which is not E: the
   previous record was rewritten with a recomputed hash -> MODIFIED at p-1.
6. otherwise find its home h (positions near p, and after the record whose
   hash it stores as predecessor):
   no home -> MODIFIED at p;
   h < p -> a copy of the record still at h -> INSERTED at p; else records
   were inserted from h on, pushing it to p -> INSERTED at h;
   h > p -> the record written at p sits elsewhere -> REORDERED at p; it sits
   nowhere -> records p..h-1 were deleted and the rest renumbered -> DELETED at p.
"""

from __future__ import annotations

from typing import Protocol

from extplane.audit.chain.canonical import GENESIS, TEXT_FIELDS_V2, split_canonical
from extplane.audit.chain.records import CanonicalRow, ChainRow
from extplane.audit.verify.walk import Problem, TamperKind, row_hash

# How far from its position a moved record's home is searched by brute force
# (besides the position its stored predecessor hash points at).
HOME_WINDOW = 1024


class ChainLookup(Protocol):
    """What classification reads beyond the walk: a few rows, by position or hash."""

    async def canonical_rows(self, after: int, through: int, limit: int) -> list[CanonicalRow]: ...

    async def chain_rows(self, after: int, through: int, limit: int) -> list[ChainRow]: ...

    async def sequences_with_hash(self, digest: bytes) -> list[int]: ...

    async def sequences_with_previous_hash(self, digest: bytes) -> list[int]: ...


async def row_at(lookup: ChainLookup, sequence: int) -> CanonicalRow | None:
    rows = await lookup.canonical_rows(sequence - 1, sequence, 1)
    return rows[0] if rows and rows[0][0] == sequence else None


async def classify(
    row: CanonicalRow, *, expected: int, previous_hash: bytes, start: int, lookup: ChainLookup
) -> Problem:
    """The problem `row` reveals; `start` is where the walk began (its predecessor
    is the anchor, not a record)."""
    position = row[0]
    if position > expected:
        return Problem(
            expected,
            TamperKind.DELETED,
            f"sequence {expected} is missing: the log goes from {expected - 1} to {position}",
        )
    if position < expected:
        return Problem(position, TamperKind.INSERTED, f"a second record with sequence {position}")
    stored_previous, digest = row[2], row[3]
    if stored_previous == previous_hash:
        if row_hash(previous_hash, row, position) == digest:
            return await _columns_edited(row, lookup)
        return await _content_changed(row, previous_hash, lookup)
    if row_hash(stored_previous, row, position) == digest:
        if position > start:
            return Problem(
                position - 1,
                TamperKind.MODIFIED,
                f"record {position - 1} matches its stored hash {previous_hash.hex()}, but "
                f"record {position} was chained to {stored_previous.hex()}: record "
                f"{position - 1} was rewritten and its hash recomputed",
            )
        return Problem(
            position,
            TamperKind.MODIFIED,
            f"record {position} is chained to {stored_previous.hex()}, not to the anchor "
            f"{previous_hash.hex()}",
        )
    home = await _home(row, position, lookup)
    if home is None:
        return Problem(
            position,
            TamperKind.MODIFIED,
            f"record {position} verifies neither where it is nor anywhere near: its content "
            f"or hashes were changed (stored hash {digest.hex()})",
        )
    if home < position:
        return await _inserted_before(row, home, lookup)
    return await _moved_forward(row, home, previous_hash, lookup)


async def _columns_edited(row: CanonicalRow, lookup: ChainLookup) -> Problem:
    position = row[0]
    columns = await lookup.chain_rows(position - 1, position, 1)
    decoded = split_canonical(row[1])
    names: list[str] = []
    if columns and columns[0][0] == position and decoded is not None:
        stored = columns[0]
        texts = (*stored[3:10], stored[12])
        names = [
            name
            for name, value, hashed in (
                ("sequence", stored[0], decoded.sequence),
                ("timestamp", stored[1], decoded.timestamp_ns),
                ("receive_time", stored[2], decoded.receive_time_ns),
                *zip(TEXT_FIELDS_V2, texts, decoded.texts, strict=True),
                ("canonical_version", stored[13], decoded.version),
            )
            if value != hashed
        ]
    which = f"its {', '.join(names)}" if names else "its stored"
    return Problem(
        position,
        TamperKind.MODIFIED,
        f"record {position} hashes to its stored hash, but {which} column(s) differ from "
        "the canonical bytes the hash covers: the table was edited directly",
    )


async def _content_changed(row: CanonicalRow, previous_hash: bytes, lookup: ChainLookup) -> Problem:
    position, digest = row[0], row[3]
    following = await row_at(lookup, position + 1)
    if (
        following is not None
        and following[2] == previous_hash
        and row_hash(previous_hash, following, position) == following[3]
    ):
        return Problem(
            position,
            TamperKind.INSERTED,
            f"record {position} was never written: the record written at {position} "
            f"(hash {following[3].hex()}) follows it, renumbered {position + 1}",
        )
    return Problem(
        position,
        TamperKind.MODIFIED,
        f"record {position} hashes to {row_hash(previous_hash, row, position).hex()} "
        f"but its stored hash is {digest.hex()}",
    )


async def _home(row: CanonicalRow, position: int, lookup: ChainLookup) -> int | None:
    """The sequence `row` was written at, if it verifies at one other than `position`."""
    stored_previous, digest = row[2], row[3]
    candidates: list[int] = [1] if stored_previous == GENESIS else []
    candidates += [q + 1 for q in await lookup.sequences_with_hash(stored_previous)]
    for offset in range(1, HOME_WINDOW + 1):
        candidates += (position - offset, position + offset)
    for sequence in candidates:
        if (
            sequence >= 1
            and sequence != position
            and row_hash(stored_previous, row, sequence) == digest
        ):
            return sequence
    return None


async def _inserted_before(row: CanonicalRow, home: int, lookup: ChainLookup) -> Problem:
    position, digest = row[0], row[3]
    if home in await lookup.sequences_with_hash(digest):
        return Problem(
            position,
            TamperKind.INSERTED,
            f"record {position} is a copy of record {home} (hash {digest.hex()})",
        )
    return Problem(
        home,
        TamperKind.INSERTED,
        f"the record written at sequence {home} is now at {position}: "
        f"{position - home} record(s) were inserted from sequence {home} on",
    )


async def _moved_forward(
    row: CanonicalRow, home: int, previous_hash: bytes, lookup: ChainLookup
) -> Problem:
    position = row[0]
    for other in await lookup.sequences_with_previous_hash(previous_hash):
        if other == position:
            continue
        candidate = await row_at(lookup, other)
        if candidate is not None and row_hash(previous_hash, candidate, position) == candidate[3]:
            return Problem(
                position,
                TamperKind.REORDERED,
                f"the record written at sequence {position} is at {other}, and the one "
                f"written at {home} is at {position}",
            )
    gone = (
        f"record {position} is" if home == position + 1 else f"records {position}..{home - 1} are"
    )
    return Problem(
        position,
        TamperKind.DELETED,
        f"{gone} gone and later records were renumbered: the record written at {home} "
        f"is at {position}",
    )
