"""Tampering with the database directly is caught, located and named.

The log holds 30 records with a signed checkpoint at 20; each test edits the
database behind the service's back, as an intruder with write access would,
then asks the service to verify. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time

import pytest
from audit_support import Audit, DatabaseEditor, StartAudit, event, q

from extplane.audit.chain.canonical import canonical_bytes, record_hash
from extplane.runtime import ANONYMOUS

RECORDS = "audit_records"
MODIFIED = q.AUDIT_TAMPER_KIND_MODIFIED
DELETED = q.AUDIT_TAMPER_KIND_DELETED
REORDERED = q.AUDIT_TAMPER_KIND_REORDERED
INSERTED = q.AUDIT_TAMPER_KIND_INSERTED
TRUNCATED = q.AUDIT_TAMPER_KIND_TRUNCATED
BAD_CHECKPOINT = q.AUDIT_TAMPER_KIND_BAD_CHECKPOINT


@pytest.fixture
async def log(start_audit: StartAudit) -> Audit:
    audit = await start_audit(checkpoint_every_records=1_000_000, checkpoint_interval_s=3600)
    await audit.record(*(event(i) for i in range(1, 21)))
    await audit.checkpoint()
    await audit.record(*(event(i) for i in range(21, 31)))
    return audit


async def _first_problem(audit: Audit) -> tuple[int, int]:
    verdict = await audit.verify()
    assert not verdict.intact, verdict
    return verdict.first_problem.kind, verdict.first_problem.sequence


async def _hash(editor: DatabaseEditor, sequence: int) -> bytes:
    ((digest,),) = await editor.fetch(f"SELECT hash FROM {RECORDS} WHERE sequence = ?", sequence)
    return bytes(digest)


def _canonical(sequence: int, ts: int, rt: int, *texts: str) -> bytes:
    """The current encoding (version 2) of a record an open sink stored (anonymous)."""
    return canonical_bytes(
        sequence, ts, rt, *(text.encode() for text in texts), principal=ANONYMOUS.encode()
    )


# A forged row as a careful intruder writes it: columns and canonical bytes agree.
INSERT_ROW = (
    f"INSERT INTO {RECORDS} (sequence, timestamp_ns, receive_time_ns, event_id, action, actor,"
    " resource, namespace, outcome, details, previous_hash, hash, canonical, principal,"
    f" canonical_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{ANONYMOUS}', 2)"
)


def _renumber(where: str, delta: int) -> list[tuple[str, list[object]]]:
    """Shift sequences matching `where` by `delta`, through negatives (the key is unique)."""
    return [
        (f"UPDATE {RECORDS} SET sequence = -(sequence + ?) WHERE {where}", [delta]),
        (f"UPDATE {RECORDS} SET sequence = -sequence WHERE sequence < 0", []),
    ]


async def test_an_untouched_log_verifies_with_its_checkpoint(log: Audit) -> None:
    verdict = await log.verify()

    assert verdict.intact
    assert (verdict.from_sequence, verdict.to_sequence) == (1, 30)
    assert verdict.records_verified == 30
    assert verdict.checkpoints_verified == 1
    assert len(verdict.head_hash) == 64
    assert not verdict.HasField("first_problem")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "agent:someone-else"),
        ("action", "task_delete"),
        ("resource", "tool/other"),
        ("namespace", "team-9"),
        ("outcome", "denied"),
        ("details", '{"run":"12","tool":"rm -rf"}'),
        ("event_id", "evt-other"),
        ("timestamp_ns", 1_700_000_000_000_000_000),
        ("receive_time_ns", 1_700_000_000_000_000_000),
    ],
)
async def test_an_edited_field_is_modified_at_its_record(
    log: Audit, column: str, value: object
) -> None:
    await log.editor().execute((f"UPDATE {RECORDS} SET {column} = ? WHERE sequence = 12", [value]))

    assert await _first_problem(log) == (MODIFIED, 12)


async def test_an_edit_with_a_recomputed_hash_is_modified_at_its_record(log: Audit) -> None:
    editor = log.editor()
    rows = await editor.fetch(
        f"SELECT timestamp_ns, receive_time_ns, event_id, action, resource, namespace, outcome,"
        f" details FROM {RECORDS} WHERE sequence = 12"
    )
    ts, rt, event_id, action, resource, namespace, outcome, details = rows[0]
    forged = record_hash(
        await _hash(editor, 11), 12, ts, rt, event_id, action, "intruder", resource, namespace,
        outcome, details, principal=ANONYMOUS,
    )  # fmt: skip
    await editor.execute(
        (f"UPDATE {RECORDS} SET actor = 'intruder', hash = ? WHERE sequence = 12", [forged])
    )

    kind, sequence = await _first_problem(log)

    assert (kind, sequence) == (MODIFIED, 12)


async def test_an_edited_hash_or_previous_hash_is_modified(log: Audit) -> None:
    await log.editor().execute(
        (f"UPDATE {RECORDS} SET previous_hash = ? WHERE sequence = 7", [bytes(32)])
    )
    assert await _first_problem(log) == (MODIFIED, 7)


async def test_a_deleted_row_is_deleted_at_its_sequence(log: Audit) -> None:
    await log.editor().execute((f"DELETE FROM {RECORDS} WHERE sequence = 12", []))

    assert await _first_problem(log) == (DELETED, 12)


async def test_a_deleted_row_with_the_rest_renumbered_is_deleted(log: Audit) -> None:
    await log.editor().execute(
        (f"DELETE FROM {RECORDS} WHERE sequence = 12", []), *_renumber("sequence > 12", -1)
    )

    assert await _first_problem(log) == (DELETED, 12)


@pytest.mark.parametrize(("first", "second"), [(12, 13), (5, 25)])
async def test_two_swapped_rows_are_reordered_at_the_first(
    log: Audit, first: int, second: int
) -> None:
    await log.editor().execute(
        (f"UPDATE {RECORDS} SET sequence = -1 WHERE sequence = ?", [first]),
        (f"UPDATE {RECORDS} SET sequence = ? WHERE sequence = ?", [first, second]),
        (f"UPDATE {RECORDS} SET sequence = ? WHERE sequence = -1", [second]),
    )

    assert await _first_problem(log) == (REORDERED, first)


async def _insert_forged(editor: DatabaseEditor, sequence: int, digest: bytes | None) -> None:
    previous = await _hash(editor, sequence - 1)
    now = time.time_ns()
    fields = ("forged-1", "task_create", "intruder", "task/x", "team-0", "allowed", "{}")
    if digest is None:
        digest = record_hash(previous, sequence, now, now, *fields, principal=ANONYMOUS)
    await editor.execute(
        *_renumber(f"sequence >= {sequence}", 1),
        (
            INSERT_ROW,
            [
                sequence,
                now,
                now,
                *fields,
                previous,
                digest,
                _canonical(sequence, now, now, *fields),
            ],
        ),
    )


async def test_a_forged_row_chained_in_is_inserted_at_its_sequence(log: Audit) -> None:
    await _insert_forged(log.editor(), 12, None)

    assert await _first_problem(log) == (INSERTED, 12)


async def test_a_forged_row_with_a_wrong_hash_is_inserted_at_its_sequence(log: Audit) -> None:
    await _insert_forged(log.editor(), 12, bytes(range(32)))

    assert await _first_problem(log) == (INSERTED, 12)


async def test_a_forged_row_appended_behind_the_service_is_inserted(log: Audit) -> None:
    editor = log.editor()
    previous, now = await _hash(editor, 30), time.time_ns()
    fields = ("forged-2", "task_create", "intruder", "task/x", "team-0", "allowed", "{}")
    digest = record_hash(previous, 31, now, now, *fields, principal=ANONYMOUS)
    await editor.execute(
        (INSERT_ROW, [31, now, now, *fields, previous, digest, _canonical(31, now, now, *fields)])
    )

    assert await _first_problem(log) == (INSERTED, 31)


async def test_a_tail_truncated_below_a_checkpoint_is_truncated(log: Audit) -> None:
    editor = log.editor()
    digest = await _hash(editor, 15)
    # The intruder also rewinds the head the service keeps: the signed
    # checkpoint at 20 still gives the truncation away.
    await editor.execute(
        (f"DELETE FROM {RECORDS} WHERE sequence > 15", []),
        ("UPDATE audit_head SET sequence = 15, hash = ?", [digest]),
    )

    assert await _first_problem(log) == (TRUNCATED, 16)


async def test_a_tail_truncated_past_the_checkpoint_is_deleted_by_the_head(log: Audit) -> None:
    await log.editor().execute((f"DELETE FROM {RECORDS} WHERE sequence > 25", []))

    assert await _first_problem(log) == (DELETED, 26)


async def test_a_corrupted_checkpoint_signature_is_a_bad_checkpoint(log: Audit) -> None:
    await log.editor().execute(("UPDATE audit_checkpoints SET signature = ?", [bytes(64)]))

    assert await _first_problem(log) == (BAD_CHECKPOINT, 20)


async def test_a_chain_rewritten_with_recomputed_hashes_contradicts_its_checkpoint(
    log: Audit,
) -> None:
    editor = log.editor()
    rows = await editor.fetch(
        f"SELECT sequence, timestamp_ns, receive_time_ns, coalesce(event_id, ''), action, actor,"
        f" resource, namespace, outcome, details FROM {RECORDS} ORDER BY sequence"
    )
    previous, updates = bytes(32), []
    for sequence, ts, rt, event_id, action, actor, resource, namespace, outcome, details in rows:
        if sequence == 5:
            actor = "intruder"
        fields = (event_id, action, actor, resource, namespace, outcome, details)
        digest = record_hash(previous, sequence, ts, rt, *fields, principal=ANONYMOUS)
        updates.append(
            (
                f"UPDATE {RECORDS} SET actor = ?, previous_hash = ?, hash = ?, canonical = ?"
                " WHERE sequence = ?",
                [actor, previous, digest, _canonical(sequence, ts, rt, *fields), sequence],
            )
        )
        previous = digest
    await editor.execute(*updates, ("UPDATE audit_head SET hash = ?", [previous]))

    verdict = await log.verify()

    assert not verdict.intact
    assert verdict.first_problem.kind == BAD_CHECKPOINT
    assert verdict.first_problem.sequence == 20
    assert "rewritten" in verdict.first_problem.detail


async def test_a_range_starts_at_the_checkpoint_below_it(log: Audit) -> None:
    verdict = await log.verify(from_sequence=25, to_sequence=28)

    assert verdict.intact
    assert (verdict.from_sequence, verdict.to_sequence) == (21, 28)
    assert verdict.records_verified == 8
    assert verdict.checkpoints_verified == 1


async def test_a_range_before_a_tampered_record_is_intact(log: Audit) -> None:
    await log.editor().execute((f"UPDATE {RECORDS} SET actor = 'x' WHERE sequence = 25", []))

    before = await log.verify(to_sequence=24)
    across = await log.verify(from_sequence=22)

    assert before.intact
    assert (before.from_sequence, before.to_sequence) == (1, 24)
    assert (across.first_problem.kind, across.first_problem.sequence) == (MODIFIED, 25)
    assert across.to_sequence == 24


async def _fields(editor: DatabaseEditor, sequence: int) -> tuple[int, int, list[str]]:
    """(timestamp_ns, receive_time_ns, the text fields) of a record's columns."""
    ((ts, rt, *texts),) = await editor.fetch(
        f"SELECT timestamp_ns, receive_time_ns, coalesce(event_id, ''), action, actor, resource,"
        f" namespace, outcome, details FROM {RECORDS} WHERE sequence = ?",
        sequence,
    )
    return ts, rt, texts


async def test_query_columns_edited_alone_are_modified_and_named(log: Audit) -> None:
    # Listing, export and the filters read the columns, the hash covers the
    # canonical bytes: the columns must say the same, or a record could be
    # misattributed or hidden from a filter while its hash still holds.
    await log.editor().execute(
        (f"UPDATE {RECORDS} SET actor = 'intruder', outcome = 'error' WHERE sequence = 12", [])
    )

    verdict = await log.verify()

    assert (verdict.first_problem.kind, verdict.first_problem.sequence) == (MODIFIED, 12)
    assert "its actor, outcome column(s) differ" in verdict.first_problem.detail
    assert (verdict.to_sequence, verdict.records_verified) == (11, 11)


@pytest.mark.parametrize(
    "edit", ["a text byte", "truncated", "emptied", "the sequence", "a length"]
)
async def test_canonical_bytes_edited_alone_are_modified(log: Audit, edit: str) -> None:
    editor = log.editor()
    ((stored,),) = await editor.fetch(f"SELECT canonical FROM {RECORDS} WHERE sequence = 12")
    canonical = bytes(stored)
    forged = {
        "a text byte": canonical[:-2] + b"X" + canonical[-1:],
        "truncated": canonical[:40],
        "emptied": b"",
        "the sequence": (13).to_bytes(8, "big") + canonical[8:],
        "a length": canonical[:40] + (1).to_bytes(4, "big") + canonical[44:],
    }[edit]
    await editor.execute((f"UPDATE {RECORDS} SET canonical = ? WHERE sequence = 12", [forged]))

    assert await _first_problem(log) == (MODIFIED, 12)


async def test_columns_and_canonical_bytes_edited_together_are_modified_by_the_hash(
    log: Audit,
) -> None:
    editor = log.editor()
    ts, rt, texts = await _fields(editor, 12)
    texts[2] = "intruder"  # actor
    await editor.execute(
        (
            f"UPDATE {RECORDS} SET actor = ?, canonical = ? WHERE sequence = 12",
            [texts[2], _canonical(12, ts, rt, *texts)],
        )
    )

    verdict = await log.verify()

    assert (verdict.first_problem.kind, verdict.first_problem.sequence) == (MODIFIED, 12)
    assert "but its stored hash is" in verdict.first_problem.detail


async def test_a_chain_rewritten_in_the_columns_only_is_modified_where_it_starts(
    log: Audit,
) -> None:
    # Columns and hashes recomputed from record 5 on, the canonical bytes left
    # as written: record 5's bytes no longer hash to its (new) stored hash.
    editor = log.editor()
    previous, updates = await _hash(editor, 4), []
    for sequence in range(5, 31):
        ts, rt, texts = await _fields(editor, sequence)
        if sequence == 5:
            texts[2] = "intruder"
        digest = record_hash(previous, sequence, ts, rt, *texts, principal=ANONYMOUS)
        updates.append(
            (
                f"UPDATE {RECORDS} SET actor = ?, previous_hash = ?, hash = ? WHERE sequence = ?",
                [texts[2], previous, digest, sequence],
            )
        )
        previous = digest
    await editor.execute(*updates, ("UPDATE audit_head SET hash = ?", [previous]))

    assert await _first_problem(log) == (MODIFIED, 5)
