"""A log stored before records kept their canonical bytes (schema version 1)
is brought to version 2 on open: the bytes are computed in SQL from the
columns, exactly as the code encodes them, and the log still verifies. Its
records keep canonical version 1 when migration 4 adds the principal; the
records after it are version 2, and the log verifies across both. On SQLite
and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from audit_support import DatabaseEditor

from extplane.audit.chain.canonical import (
    GENESIS,
    canonical_bytes,
    canonical_details,
    record_hash,
)
from extplane.audit.chain.records import ChainHead, NewEvent
from extplane.audit.chain.signing import CheckpointSigner
from extplane.audit.config import AuditSettings
from extplane.audit.service import audit_store
from extplane.audit.store.schema import COMPONENT, HEAD, MIGRATIONS, RECORD_COLUMNS, RECORDS
from extplane.audit.verify.verifier import verify_log
from extplane.audit.verify.walk import TamperKind
from extplane.keys import SigningKey
from extplane.storage import SqliteDatabase, create_pool, migrate_postgres, migrate_sqlite

T0 = 1_767_225_600_000_000_000
# Version 1's columns: every column up to the canonical bytes.
V1_COLUMNS = RECORD_COLUMNS[: RECORD_COLUMNS.index("canonical")]
V1_INSERT = (
    f"INSERT INTO {RECORDS} ({', '.join(V1_COLUMNS)}) VALUES ({', '.join('?' for _ in V1_COLUMNS)})"
)


ODD_DETAILS = canonical_details({"note": 'quote " tab \t bell \x07 é 日本', "z": ""})


def _events() -> list[NewEvent]:
    return [
        NewEvent(
            event_id="" if index % 4 == 0 else f"evt-{index}",
            timestamp_ns=T0 + index,
            action="tool_invoke",
            actor=f"agent:ü-{index % 3}",
            resource="" if index % 5 == 0 else f"tool/{index}",
            namespace="team-a",
            outcome=("allowed", "denied", "error")[index % 3],
            details=ODD_DETAILS if index % 2 else canonical_details({}),
        )
        for index in range(1, 41)
    ]


async def _store_at_version_1(database_url: str) -> list[tuple[object, ...]]:
    """Version 1's tables holding 40 chained records (canonical version 1); returns
    their rows."""
    old_rows: list[tuple[object, ...]] = []
    previous = GENESIS
    for sequence, new in enumerate(_events(), 1):
        digest = record_hash(previous, sequence, new.timestamp_ns, T0 + 1000, *_texts(new))
        old_rows.append(
            (
                sequence,
                new.timestamp_ns,
                T0 + 1000,
                new.event_id or None,
                *_texts(new)[1:],
                previous,
                digest,
            )
        )
        previous = digest
    chained = ChainHead(len(old_rows), previous)
    if database_url.startswith("sqlite:"):
        db = SqliteDatabase(Path(database_url.removeprefix("sqlite:")))
        await db.open()
        try:
            await migrate_sqlite(db, COMPONENT, MIGRATIONS[:1])
            await db.write(lambda conn: conn.executemany(V1_INSERT, old_rows))
            await db.write(
                lambda conn: conn.execute(f"UPDATE {HEAD} SET sequence = ?, hash = ?", chained)
            )
        finally:
            await db.close()
    else:
        pool = await create_pool(database_url)
        try:
            await migrate_postgres(pool, COMPONENT, MIGRATIONS[:1])
            await pool.copy_records_to_table(RECORDS, records=old_rows, columns=V1_COLUMNS)
            await pool.execute(f"UPDATE {HEAD} SET sequence = $1, hash = $2", *chained)
        finally:
            await pool.close()
    return old_rows


def _texts(new: NewEvent) -> tuple[str, ...]:
    return (
        new.event_id,
        new.action,
        new.actor,
        new.resource,
        new.namespace,
        new.outcome,
        new.details,
    )


async def test_version_2_computes_the_canonical_bytes_of_stored_records(
    database_url: str, tmp_path: Path
) -> None:
    rows = await _store_at_version_1(database_url)
    store = audit_store(AuditSettings(database_url=database_url), tmp_path)
    await store.open()
    try:
        migrated = await store.canonical_rows(0, 100, 100)
        signer = CheckpointSigner(SigningKey.generate())
        intact = await verify_log(store, signer)
        await DatabaseEditor(database_url).execute(
            (f"UPDATE {RECORDS} SET namespace = 'team-b' WHERE sequence = 17", [])
        )
        edited = await verify_log(store, signer)
    finally:
        await store.close()

    assert [row[1] for row in migrated] == [
        canonical_bytes(*row[:3], *(str(text or "").encode() for text in row[3:10]))  # type: ignore[arg-type]
        for row in rows
    ]
    texts = ("evt-1", "tool_invoke", "agent:ü-1", "tool/1", "team-a", "denied", ODD_DETAILS)
    assert migrated[0][1] == canonical_bytes(1, T0 + 1, T0 + 1000, *(t.encode() for t in texts))
    assert intact.intact
    assert intact.records_verified == 40
    assert edited.problem is not None
    assert (edited.problem.kind, edited.problem.sequence) == (TamperKind.MODIFIED, 17)


async def test_version_3_makes_event_ids_unique_per_namespace(
    database_url: str, tmp_path: Path
) -> None:
    """A log of the global-uniqueness schema keeps its records and verifies; from then
    on another tenant's event with a stored id is its own record."""
    await _store_at_version_1(database_url)
    store = audit_store(AuditSettings(database_url=database_url), tmp_path)
    await store.open()
    try:
        reused = NewEvent(
            "evt-1", T0 + 100, "tool_invoke", "agent:x", "tool/x", "team-b", "allowed", "{}"
        )
        retried = NewEvent(
            "evt-1", T0 + 1, "tool_invoke", "agent:x", "tool/x", "team-a", "allowed", "{}"
        )
        outcome = await store.append([[reused, retried]])
        signer = CheckpointSigner(SigningKey.generate())
        verdict = await verify_log(store, signer)
    finally:
        await store.close()

    assert [(a.sequence, a.duplicate) for a in outcome.results[0]] == [(41, False), (1, True)]
    assert verdict.intact
    assert verdict.records_verified == 41


async def test_version_4_keeps_old_records_at_canonical_version_1(
    database_url: str, tmp_path: Path
) -> None:
    """Records from before the principal keep their encoding and verify; new ones
    are version 2 with their principal, chained on; the log verifies across both,
    and the principal is covered: edited on a new record or claimed on an old one,
    it is found."""
    await _store_at_version_1(database_url)
    store = audit_store(AuditSettings(database_url=database_url), tmp_path)
    signer = CheckpointSigner(SigningKey.generate())
    await store.open()
    try:
        new = NewEvent(
            "evt-new",
            T0 + 50,
            "tool_invoke",
            "agent:x",
            "tool/x",
            "team-a",
            "allowed",
            "{}",
            principal="token:ingest-a",
        )
        await store.append([[new]])
        rows = await store.chain_rows(39, 41, 10)
        across = await verify_log(store, signer)
        editor = DatabaseEditor(database_url)
        await editor.execute(
            (f"UPDATE {RECORDS} SET principal = 'token:other' WHERE sequence = 41", [])
        )
        edited = await verify_log(store, signer)
        await editor.execute(
            (f"UPDATE {RECORDS} SET principal = 'token:ingest-a' WHERE sequence = 41", []),
            (f"UPDATE {RECORDS} SET principal = 'token:claimed' WHERE sequence = 12", []),
        )
        claimed = await verify_log(store, signer)
    finally:
        await store.close()

    assert [(row[0], row[12], row[13]) for row in rows] == [
        (40, b"", 1),
        (41, b"token:ingest-a", 2),
    ]
    assert across.intact
    assert across.records_verified == 41
    assert edited.problem is not None
    assert (edited.problem.kind, edited.problem.sequence) == (TamperKind.MODIFIED, 41)
    assert "principal" in edited.problem.detail
    assert claimed.problem is not None
    assert (claimed.problem.kind, claimed.problem.sequence) == (TamperKind.MODIFIED, 12)
    assert "principal" in claimed.problem.detail
