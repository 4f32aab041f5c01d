"""The store interface, the same tests on SQLite and PostgreSQL: one
transaction per append, deduplication, the verifier's rows, checkpoints,
where retention may prune to, and verification streamed in chunks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from audit_support import DatabaseEditor

from extplane.audit.chain.canonical import GENESIS, canonical_bytes, record_hash
from extplane.audit.chain.records import Appended, Checkpoint, NewEvent
from extplane.audit.chain.signing import CheckpointSigner
from extplane.audit.config import AuditSettings
from extplane.audit.service import audit_store
from extplane.audit.store import AuditStore
from extplane.audit.verify.verifier import verify_log
from extplane.audit.verify.walk import TamperKind
from extplane.keys import SigningKey

T0 = 1_767_225_600_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(database_url: str, tmp_path: Path, clock: Clock) -> AsyncIterator[AuditStore]:
    opened = audit_store(AuditSettings(database_url=database_url), tmp_path, clock_ns=clock)
    await opened.open()
    yield opened
    await opened.close()
    await opened.close()  # safe twice


def new(index: int, event_id: str | None = None) -> NewEvent:
    return NewEvent(
        event_id=f"id-{index}" if event_id is None else event_id,
        timestamp_ns=T0 + index,
        action="task_create",
        actor=f"user:{index % 2}",
        resource="task/1",
        namespace="ns",
        outcome="allowed",
        details=f'{{"i":"{index}"}}',
        principal=f"token:writer-{index % 2}",
    )


async def test_batches_of_one_append_share_a_transaction_and_a_chain(
    store: AuditStore, clock: Clock
) -> None:
    outcome = await store.append([[new(1), new(2)], [new(2), new(3)], [new(1, "")]])

    assert outcome.results == [
        [Appended(1, False), Appended(2, False)],
        [Appended(2, True), Appended(3, False)],
        [Appended(4, False)],
    ]
    assert outcome.head.sequence == 4
    assert await store.chain_head() == outcome.head
    rows = await store.chain_rows(0, 10, 100)
    assert [row[0] for row in rows] == [1, 2, 3, 4]
    _, ts, rt, eid, action, actor, resource, ns, outcome_text, details, prev, digest, *rest = rows[
        0
    ]
    assert (ts, rt, eid, action, actor) == (T0 + 1, clock.now, b"id-1", b"task_create", b"user:1")
    assert (resource, ns, outcome_text, details) == (b"task/1", b"ns", b"allowed", b'{"i":"1"}')
    assert prev == GENESIS
    assert rest == [b"token:writer-1", 2]  # the principal, canonical version 2
    expected = record_hash(
        GENESIS, 1, T0 + 1, clock.now, "id-1", "task_create", "user:1", "task/1", "ns",
        "allowed", '{"i":"1"}', principal="token:writer-1",
    )  # fmt: skip
    assert digest == expected
    assert rows[3][3] == b""  # no id
    assert await store.sequences_with_hash(digest) == [1]
    assert await store.sequences_with_previous_hash(digest) == [2]


async def test_records_keep_their_canonical_bytes_and_the_store_checks_the_columns(
    store: AuditStore, database_url: str, clock: Clock
) -> None:
    await store.append([[new(1), new(2, ""), new(3)._replace(actor="agent:ü-日本")]])

    rows = await store.canonical_rows(0, 10, 10)
    intact = await store.first_disagreeing(0, 3)
    await DatabaseEditor(database_url).execute(
        ("UPDATE audit_records SET details = '{}' WHERE sequence = 3", []),
        ("UPDATE audit_records SET event_id = 'id-x' WHERE sequence = 2", []),
    )
    edited = await store.first_disagreeing(0, 3)
    from_3 = await store.first_disagreeing(2, 3)
    await DatabaseEditor(database_url).execute(
        ("UPDATE audit_records SET principal = 'token:forged' WHERE sequence = 1", []),
    )
    principal_edited = await store.first_disagreeing(0, 1)

    texts = ("", "task_create", "user:0", "task/1", "ns", "allowed", '{"i":"2"}')
    assert rows[1] == (
        2,
        canonical_bytes(
            2, T0 + 2, clock.now, *(text.encode() for text in texts), principal=b"token:writer-0"
        ),
        rows[0][3],
        record_hash(rows[0][3], 2, T0 + 2, clock.now, *texts, principal="token:writer-0"),
    )
    assert [row[0] for row in rows] == [1, 2, 3]
    assert (intact, edited, from_3, principal_edited) == (None, 2, 3, 1)


async def test_a_later_append_sees_the_ids_of_earlier_ones(store: AuditStore) -> None:
    await store.append([[new(1)]])

    again = await store.append([[new(1), new(5)]])

    assert again.results == [[Appended(1, True), Appended(2, False)]]


async def test_checkpoints_are_stored_once_per_sequence_and_listed(
    store: AuditStore, tmp_path: Path
) -> None:
    signer = CheckpointSigner(SigningKey.generate())
    await store.append([[new(i) for i in range(1, 6)]])
    rows = await store.chain_rows(0, 5, 5)
    checkpoints = [signer.sign(row[0], row[11], T0) for row in rows]

    stored = [await store.add_checkpoint(c) for c in checkpoints]
    again = await store.add_checkpoint(signer.sign(3, rows[2][11], T0 + 1))

    assert stored == [True] * 5
    assert again is False
    assert await store.latest_checkpoint() == checkpoints[-1]
    assert await store.list_checkpoints(1, 2) == checkpoints[1:3]
    assert isinstance((await store.list_checkpoints(0, 1))[0], Checkpoint)


async def test_prune_point_is_a_checkpoint_below_the_cutoff_within_the_cap(
    store: AuditStore, clock: Clock, tmp_path: Path
) -> None:
    signer = CheckpointSigner(SigningKey.generate())
    assert await store.prune_point(T0 + 10, 100) is None  # empty log
    for index in range(1, 21):
        clock.now = T0 + index
        await store.append([[new(index)]])
    for sequence in (4, 8, 15):
        (row,) = await store.chain_rows(sequence - 1, sequence, 1)
        await store.add_checkpoint(signer.sign(sequence, row[11], T0))

    # Records 1..12 were received before T0 + 13.
    assert await store.prune_point(T0 + 13, 100) == 8
    assert await store.prune_point(T0 + 13, 5) == 4
    # No checkpoint within a cap of 2: the first one below the cutoff, still.
    assert await store.prune_point(T0 + 13, 2) == 4
    assert await store.prune_point(T0 + 3, 100) is None
    assert await store.prune_point(T0 + 99, 100) == 15


@pytest.mark.parametrize("tampered", [7, 8, 14, 15])
async def test_verification_streams_in_chunks_and_locates_across_their_edges(
    store: AuditStore, database_url: str, tmp_path: Path, tampered: int
) -> None:
    signer = CheckpointSigner(SigningKey.generate())
    await store.append([[new(i) for i in range(1, 31)]])

    intact = await verify_log(store, signer, chunk_rows=7)
    await DatabaseEditor(database_url).execute(
        ("DELETE FROM audit_records WHERE sequence = ?", [tampered])
    )
    deleted = await verify_log(store, signer, chunk_rows=7)

    assert intact.intact
    assert intact.records_verified == 30
    assert deleted.problem is not None
    assert (deleted.problem.kind, deleted.problem.sequence) == (TamperKind.DELETED, tampered)
    assert deleted.records_verified == tampered - 1


async def test_an_empty_log_verifies_and_a_lost_one_does_not(
    store: AuditStore, database_url: str, tmp_path: Path
) -> None:
    signer = CheckpointSigner(SigningKey.generate())
    empty = await verify_log(store, signer)
    await store.append([[new(1), new(2)]])
    await DatabaseEditor(database_url).execute(("DELETE FROM audit_records", []))

    lost = await verify_log(store, signer)

    assert empty.intact
    assert (empty.from_sequence, empty.to_sequence, empty.records_verified) == (0, 0, 0)
    assert lost.problem is not None
    assert (lost.problem.kind, lost.problem.sequence) == (TamperKind.DELETED, 1)
