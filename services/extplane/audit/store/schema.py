"""The audit log's tables, as versioned migrations for both dialects.

* `audit_records`: one row per record, keyed by its sequence. `event_id` is
  NULL when the producer sent none; otherwise (namespace, event_id) is
  unique: idempotency per tenant. (Version 1 made event_id unique across
  namespaces, so one tenant's id answered for another's; migration 3 fixed
  that.)
  `details` is canonical JSON text, never JSONB, whose normalising would
  change the bytes the hash covers. `canonical` holds those bytes exactly
  (chain.canonical_bytes), so verification hashes one value per row and
  checks the query columns against it in SQL (canonical_sql.py). Migration
  2 added it and computed it for the rows already stored.
* `audit_head`: one row, the last record appended. Appends lock it (on
  PostgreSQL `SELECT … FOR UPDATE`), so replicas take turns and the chain
  stays one; verification compares it with the last record.
* `audit_checkpoints`: signed checkpoints. Retention never deletes them.

Migration 4 adds `principal` (who the service authenticated as the writer)
and `canonical_version` (the encoding `canonical` holds): rows stored before
it keep version 1 and an empty principal, and keep verifying; new rows are
version 2, whose bytes cover the principal.
"""

from __future__ import annotations

from extplane.audit.chain.canonical import TEXT_FIELDS
from extplane.audit.store.canonical_sql import (
    POSTGRES_CANONICAL,
    SQLITE_BYTE_TABLE,
    SQLITE_CANONICAL,
)
from extplane.storage import Migration

COMPONENT = "audit"
RECORDS = "audit_records"
HEAD = "audit_head"
CHECKPOINTS = "audit_checkpoints"

# The columns of a record as of version 3 (what migration 3 copies).
_V3_COLUMNS = (
    "sequence",
    "timestamp_ns",
    "receive_time_ns",
    *TEXT_FIELDS,
    "previous_hash",
    "hash",
    "canonical",
)
# The columns of a record, in the order of every INSERT.
RECORD_COLUMNS = (*_V3_COLUMNS, "principal", "canonical_version")
FILTER_COLUMNS = ("actor", "action", "resource", "namespace")


def _records(integer: str, blob: str, *, name: str = RECORDS) -> str:
    """Version 1's table (migration 3 rebuilds it on SQLite under another `name`)."""
    return (
        f"CREATE TABLE {name} ("
        f" sequence {integer} PRIMARY KEY,"
        f" timestamp_ns {integer} NOT NULL,"
        f" receive_time_ns {integer} NOT NULL,"
        " event_id TEXT UNIQUE,"
        " action TEXT NOT NULL,"
        " actor TEXT NOT NULL,"
        " resource TEXT NOT NULL,"
        " namespace TEXT NOT NULL,"
        " outcome TEXT NOT NULL,"
        " details TEXT NOT NULL,"
        f" previous_hash {blob} NOT NULL,"
        f" hash {blob} NOT NULL)"
    )


_KEY_INDEX = f"{RECORDS}_namespace_event_id"
_REBUILT = f"{RECORDS}_v3"


def _rebuilt_sqlite_records() -> list[str]:
    """SQLite cannot drop a column's UNIQUE: build the table anew without it."""
    columns = ", ".join(_V3_COLUMNS)
    create = _records("INTEGER", "BLOB", name=_REBUILT).replace(
        " event_id TEXT UNIQUE,", " event_id TEXT,"
    )
    return [
        create.removesuffix(")") + ", canonical BLOB NOT NULL)",
        f"INSERT INTO {_REBUILT} ({columns}) SELECT {columns} FROM {RECORDS}",
        f"DROP TABLE {RECORDS}",
        f"ALTER TABLE {_REBUILT} RENAME TO {RECORDS}",
        *_indexes(),
    ]


def _indexes() -> list[str]:
    # Each filter is an equality on one column, ordered by sequence: the
    # (column, sequence) index serves a page straight from its range.
    return [
        *(
            f"CREATE INDEX {RECORDS}_{column} ON {RECORDS} ({column}, sequence)"
            for column in FILTER_COLUMNS
        ),
        f"CREATE INDEX {RECORDS}_timestamp ON {RECORDS} (timestamp_ns)",
    ]


def _others(integer: str, blob: str, zero_hash: str) -> list[str]:
    return [
        f"CREATE TABLE {HEAD} (id INTEGER PRIMARY KEY CHECK (id = 1),"
        f" sequence {integer} NOT NULL, hash {blob} NOT NULL)",
        f"INSERT INTO {HEAD} (id, sequence, hash) VALUES (1, 0, {zero_hash})",
        f"CREATE TABLE {CHECKPOINTS} ("
        f" sequence {integer} PRIMARY KEY,"
        f" hash {blob} NOT NULL,"
        f" create_time_ns {integer} NOT NULL,"
        " key_id TEXT NOT NULL,"
        f" signature {blob} NOT NULL)",
    ]


def _principal_columns() -> list[str]:
    # Existing rows: version 1, no principal. Every append sets both.
    return [
        f"ALTER TABLE {RECORDS} ADD COLUMN principal TEXT NOT NULL DEFAULT ''",
        f"ALTER TABLE {RECORDS} ADD COLUMN canonical_version INTEGER NOT NULL DEFAULT 1",
        f"CREATE INDEX {RECORDS}_principal ON {RECORDS} (principal, sequence)",
    ]


MIGRATIONS = (
    Migration(
        version=1,
        name="records, head and checkpoints",
        sqlite=[
            _records("INTEGER", "BLOB"),
            *_indexes(),
            *_others("INTEGER", "BLOB", "zeroblob(32)"),
        ],
        postgres=[
            _records("BIGINT", "BYTEA"),
            *_indexes(),
            *_others("BIGINT", "BYTEA", "decode(repeat('00', 32), 'hex')"),
        ],
    ),
    Migration(
        version=2,
        name="records keep their canonical encoding",
        sqlite=[
            # NOT NULL needs a default to add the column; every append sets it.
            f"ALTER TABLE {RECORDS} ADD COLUMN canonical BLOB NOT NULL DEFAULT X''",
            f"UPDATE {RECORDS} SET canonical = {SQLITE_CANONICAL}"
            f" FROM (SELECT {SQLITE_BYTE_TABLE} AS bytes)",
        ],
        postgres=[
            f"ALTER TABLE {RECORDS} ADD COLUMN canonical BYTEA",
            f"UPDATE {RECORDS} SET canonical = {POSTGRES_CANONICAL}",
            f"ALTER TABLE {RECORDS} ALTER COLUMN canonical SET NOT NULL",
        ],
    ),
    Migration(
        version=3,
        name="event ids are unique per namespace",
        sqlite=[
            *_rebuilt_sqlite_records(),
            f"CREATE UNIQUE INDEX {_KEY_INDEX} ON {RECORDS} (namespace, event_id)",
        ],
        postgres=[
            f"ALTER TABLE {RECORDS} DROP CONSTRAINT {RECORDS}_event_id_key",
            f"CREATE UNIQUE INDEX {_KEY_INDEX} ON {RECORDS} (namespace, event_id)",
        ],
    ),
    Migration(
        version=4,
        name="records keep their writer's principal (canonical version 2)",
        sqlite=_principal_columns(),
        postgres=_principal_columns(),
    ),
)
