"""SQL both stores run, with `?` placeholders (PostgreSQL numbers them).

Only what differs stays in each store: how text becomes bytes
(`CAST(x AS BLOB)` against `convert_to(x, 'UTF8')`), how the columns are
checked against the canonical bytes (canonical_sql.py), locking the head,
and bulk insertion.
"""

from __future__ import annotations

from collections.abc import Callable

from extplane.audit.store.canonical_sql import TEXT_COLUMNS
from extplane.audit.store.schema import CHECKPOINTS, HEAD, RECORD_COLUMNS, RECORDS

INSERT_RECORD = (
    f"INSERT INTO {RECORDS} ({', '.join(RECORD_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in RECORD_COLUMNS)})"
)
SELECT_HEAD = f"SELECT sequence, hash FROM {HEAD} WHERE id = 1"
UPDATE_HEAD = f"UPDATE {HEAD} SET sequence = ?, hash = ? WHERE id = 1"
SELECT_BOUNDS = f"SELECT min(sequence), max(sequence) FROM {RECORDS}"
SELECT_OLDEST = f"SELECT min(sequence) FROM {RECORDS}"
SELECT_LATEST_PRUNE = (
    f"SELECT details FROM {RECORDS} WHERE action = ? AND actor = ? ORDER BY sequence DESC LIMIT 1"
)
SELECT_BY_HASH = f"SELECT sequence FROM {RECORDS} WHERE hash = ? ORDER BY sequence"
SELECT_BY_PREVIOUS_HASH = (
    f"SELECT sequence FROM {RECORDS} WHERE previous_hash = ? ORDER BY sequence"
)
SELECT_FIRST_YOUNG = (
    f"SELECT sequence FROM {RECORDS} WHERE receive_time_ns >= ? ORDER BY sequence LIMIT 1"
)
DELETE_THROUGH = f"DELETE FROM {RECORDS} WHERE sequence <= ?"

_CHECKPOINT_COLUMNS = "sequence, hash, create_time_ns, key_id, signature"
INSERT_CHECKPOINT = (
    f"INSERT INTO {CHECKPOINTS} ({_CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (sequence) DO NOTHING"
)
SELECT_LATEST_CHECKPOINT = (
    f"SELECT {_CHECKPOINT_COLUMNS} FROM {CHECKPOINTS} ORDER BY sequence DESC LIMIT 1"
)
SELECT_CHECKPOINTS_AFTER = (
    f"SELECT {_CHECKPOINT_COLUMNS} FROM {CHECKPOINTS} WHERE sequence > ? ORDER BY sequence LIMIT ?"
)
SELECT_CHECKPOINTS_FROM = (
    f"SELECT {_CHECKPOINT_COLUMNS} FROM {CHECKPOINTS} WHERE sequence >= ? ORDER BY sequence"
)
SELECT_CHECKPOINT_KEY_IDS = f"SELECT DISTINCT key_id FROM {CHECKPOINTS} ORDER BY key_id"
SELECT_LAST_CHECKPOINT_IN = (
    f"SELECT max(sequence) FROM {CHECKPOINTS} WHERE sequence >= ? AND sequence <= ?"
)
SELECT_FIRST_CHECKPOINT_IN = (
    f"SELECT min(sequence) FROM {CHECKPOINTS} WHERE sequence >= ? AND sequence <= ?"
)


def select_chain_rows(as_bytes: Callable[[str], str]) -> str:
    """Whole rows, text columns converted to UTF-8 bytes by the database."""
    text = ", ".join(as_bytes(column) for column in TEXT_COLUMNS)
    return (
        f"SELECT sequence, timestamp_ns, receive_time_ns, {text}, previous_hash, hash,"
        f" {as_bytes('principal')}, canonical_version"
        f" FROM {RECORDS} WHERE sequence > ? AND sequence <= ? ORDER BY sequence LIMIT ?"
    )


# The verifier's rows of a sequence range: the canonical bytes and the hash.
SELECT_HASH_ROWS = (
    f"SELECT canonical, hash FROM {RECORDS} WHERE sequence > ? AND sequence <= ? ORDER BY sequence"
)


def select_canonical_rows(as_blob: Callable[[str], str]) -> str:
    """Rows as their hash sees them; `as_blob` is how the dialect reads a column
    as bytes whatever was stored there (a NULL as none)."""
    return (
        f"SELECT sequence, {as_blob('canonical')}, previous_hash, hash"
        f" FROM {RECORDS} WHERE sequence > ? AND sequence <= ? ORDER BY sequence LIMIT ?"
    )


def select_first_disagreeing(columns_agree: str) -> str:
    """The first sequence of a range whose columns do not say what its canonical
    bytes say (a NULL in the comparison counts as disagreeing)."""
    return (
        f"SELECT sequence FROM {RECORDS} WHERE sequence > ? AND sequence <= ?"
        f" AND ({columns_agree}) IS NOT TRUE ORDER BY sequence LIMIT 1"
    )


SELECT_PREVIOUS_HASH = f"SELECT previous_hash FROM {RECORDS} WHERE sequence = ?"
# Each record's previous_hash against the hash of the record before it, in
# the database: a keyed self-join, cheaper than carrying the column out.
SELECT_FIRST_BAD_LINK = (
    f"SELECT min(b.sequence) FROM {RECORDS} b JOIN {RECORDS} a ON a.sequence = b.sequence - 1"
    " WHERE b.sequence > ? AND b.sequence <= ? AND b.previous_hash <> a.hash"
)


def select_stored_ids(count: int) -> str:
    """(namespace, event_id, sequence) of the stored records among `count` keys."""
    keys = ", ".join("(?, ?)" for _ in range(count))
    return (
        f"SELECT namespace, event_id, sequence FROM {RECORDS}"
        f" WHERE (namespace, event_id) IN (VALUES {keys})"
    )
