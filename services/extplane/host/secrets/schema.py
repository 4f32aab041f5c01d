"""The secrets' table, as versioned migrations for both dialects.

`host_secrets`: one row per (tenant, install_id, key); `ciphertext` is the
sealed value (sealing.py) and `key_id` the key that sealed it; `expire_ns`
NULL never expires. Times are integer nanoseconds since the epoch; text
compares in the "C" collation on PostgreSQL, byte order as on SQLite.
"""

from __future__ import annotations

from extplane.storage import Migration

COMPONENT = "host.secrets"
TABLE = "host_secrets"


def _create(text: str, bigint: str, blob: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE {TABLE} (
            tenant TEXT{text} NOT NULL,
            install_id TEXT{text} NOT NULL,
            key TEXT{text} NOT NULL,
            key_id TEXT NOT NULL,
            ciphertext {blob} NOT NULL,
            expire_ns {bigint},
            updated_ns {bigint} NOT NULL,
            PRIMARY KEY (tenant, install_id, key)
        )""",
    )


MIGRATIONS = (
    Migration(
        1,
        "secrets",
        sqlite=_create("", "INTEGER", "BLOB"),
        postgres=_create(' COLLATE "C"', "BIGINT", "BYTEA"),
    ),
)
