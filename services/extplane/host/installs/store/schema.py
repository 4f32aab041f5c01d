"""The install registry's schema, as versioned migrations for both dialects.

`host_installs`: one row per (tenant, install_id); `seq` is the registration
order lists page in (SQLite's rowid; an identity column on PostgreSQL). The lists (capabilities,
egress allowlist, proxy routes) are JSON text: they are read and written
whole, never queried into. Migration 2 adds the `storage` interface's
entries (`host_storage`, keyed by tenant, install, namespace and key) and each
install's byte total (`host_storage_usage`). Times are integer nanoseconds since the epoch.
PostgreSQL compares the text columns in the "C" collation, byte order as
SQLite does, so both stores agree on which ids are equal.
"""

from __future__ import annotations

from extplane.storage import Migration

COMPONENT = "host.installs"
TABLE = "host_installs"


def _create(seq: str, text: str, bigint: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE {TABLE} (
            seq {seq},
            tenant TEXT{text} NOT NULL,
            install_id TEXT{text} NOT NULL,
            extension_id TEXT{text} NOT NULL,
            version TEXT NOT NULL,
            capabilities TEXT NOT NULL,
            egress_allowlist TEXT NOT NULL,
            ui_proxy_routes TEXT NOT NULL,
            storage_value_bytes {bigint} NOT NULL,
            storage_keys_per_namespace {bigint} NOT NULL,
            storage_bytes {bigint} NOT NULL,
            log_records_per_minute {bigint} NOT NULL,
            enabled INTEGER NOT NULL,
            revision {bigint} NOT NULL,
            created_ns {bigint} NOT NULL,
            updated_ns {bigint} NOT NULL,
            UNIQUE (tenant, install_id)
        )""",
        f"CREATE INDEX {TABLE}_extension ON {TABLE} (extension_id, seq)",
    )


STORAGE_TABLE = "host_storage"
USAGE_TABLE = "host_storage_usage"


def _create_storage(text: str, bigint: str, blob: str) -> tuple[str, ...]:
    # `size` is the value's length, kept so quotas never re-read the values;
    # `host_storage_usage` holds each install's total, and its row is what a
    # write locks, so one install's writes (and their quota checks) serialize.
    return (
        f"""CREATE TABLE {STORAGE_TABLE} (
            tenant TEXT{text} NOT NULL,
            install_id TEXT{text} NOT NULL,
            namespace TEXT{text} NOT NULL,
            key TEXT{text} NOT NULL,
            value {blob} NOT NULL,
            size {bigint} NOT NULL,
            revision {bigint} NOT NULL,
            PRIMARY KEY (tenant, install_id, namespace, key)
        )""",
        f"""CREATE TABLE {USAGE_TABLE} (
            tenant TEXT{text} NOT NULL,
            install_id TEXT{text} NOT NULL,
            bytes {bigint} NOT NULL,
            PRIMARY KEY (tenant, install_id)
        )""",
    )


MIGRATIONS = (
    Migration(
        1,
        "installs",
        sqlite=_create("INTEGER PRIMARY KEY", "", "INTEGER"),
        postgres=_create(
            "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", ' COLLATE "C"', "BIGINT"
        ),
    ),
    Migration(
        2,
        "storage",
        sqlite=_create_storage("", "INTEGER", "BLOB"),
        postgres=_create_storage(' COLLATE "C"', "BIGINT", "BYTEA"),
    ),
)
