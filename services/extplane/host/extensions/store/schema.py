"""The extension registry's schema, as versioned migrations of its own
component (`host.extensions`) in the host service's database.

`host_extension_versions`: one row per (extension_id, version); `seq` is the
upload order lists page in; a version names its component by
`component_sha256` or holds a `grpc_address` (exactly one of them).
`host_extension_components`: each component's bytes once, by sha256, with
its size and imports (JSON). Times are integer nanoseconds since the epoch;
text compares in the "C" collation on PostgreSQL, byte order as on SQLite.
"""

from __future__ import annotations

from extplane.storage import Migration

COMPONENT = "host.extensions"
VERSIONS_TABLE = "host_extension_versions"
COMPONENTS_TABLE = "host_extension_components"


def _create(seq: str, text: str, bigint: str, blob: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE {COMPONENTS_TABLE} (
            sha256 TEXT{text} PRIMARY KEY,
            size_bytes {bigint} NOT NULL,
            imports TEXT NOT NULL,
            content {blob} NOT NULL,
            created_ns {bigint} NOT NULL
        )""",
        f"""CREATE TABLE {VERSIONS_TABLE} (
            seq {seq},
            extension_id TEXT{text} NOT NULL,
            version TEXT{text} NOT NULL,
            declared_capabilities TEXT NOT NULL,
            timeout_ms {bigint} NOT NULL,
            memory_bytes {bigint} NOT NULL,
            fuel {bigint} NOT NULL,
            component_sha256 TEXT{text},
            grpc_address TEXT,
            created_ns {bigint} NOT NULL,
            UNIQUE (extension_id, version),
            CHECK ((component_sha256 IS NULL) <> (grpc_address IS NULL))
        )""",
        f"CREATE INDEX {VERSIONS_TABLE}_extension ON {VERSIONS_TABLE} (extension_id, seq)",
    )


MIGRATIONS = (
    Migration(
        1,
        "extension versions and components",
        sqlite=_create("INTEGER PRIMARY KEY", "", "INTEGER", "BLOB"),
        postgres=_create(
            "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", ' COLLATE "C"', "BIGINT", "BYTEA"
        ),
    ),
)
