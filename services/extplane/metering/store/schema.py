"""The metering schema, as versioned migrations for both dialects.

`metering_events`: `seq` is the storage order (SQLite's rowid; an identity column on
PostgreSQL); timestamps are integer nanoseconds since the Unix epoch, so a
window is integer arithmetic and an event reads back exactly as sent. The
unique index on (namespace, event_id) is what makes a retry count once,
forever; it leaves out events without an id (NULL), which are never
deduplicated.

`metering_horizon`: one row, the retention horizon (migration 2). Events older
than it are acknowledged but not stored. It is in the database, not in each
process, and read inside every ingest transaction, so no replica can store a
retry of an event another replica has just pruned.
"""

from __future__ import annotations

from extplane.storage import Migration

COMPONENT = "metering"
TABLE = "metering_events"
HORIZON = "metering_horizon"

_SQLITE_V1 = (
    f"""CREATE TABLE {TABLE} (
        seq INTEGER PRIMARY KEY,
        ts_ns INTEGER NOT NULL,
        namespace TEXT NOT NULL,
        task TEXT NOT NULL,
        agent TEXT NOT NULL,
        model TEXT NOT NULL,
        tokens_in INTEGER NOT NULL,
        tokens_out INTEGER NOT NULL,
        tool_calls INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        event_id TEXT,
        received_ns INTEGER NOT NULL
    )""",
    f"CREATE UNIQUE INDEX {TABLE}_event_id ON {TABLE} (namespace, event_id)"
    " WHERE event_id IS NOT NULL",
    # The rowid (= seq) is part of every SQLite index: this orders (ts_ns, seq).
    f"CREATE INDEX {TABLE}_ts ON {TABLE} (ts_ns)",
)

_POSTGRES_V1 = (
    f"""CREATE TABLE {TABLE} (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ts_ns BIGINT NOT NULL,
        namespace TEXT NOT NULL,
        task TEXT NOT NULL,
        agent TEXT NOT NULL,
        model TEXT NOT NULL,
        tokens_in BIGINT NOT NULL,
        tokens_out BIGINT NOT NULL,
        tool_calls BIGINT NOT NULL,
        duration_ms BIGINT NOT NULL,
        event_id TEXT,
        received_ns BIGINT NOT NULL
    )""",
    f"CREATE UNIQUE INDEX {TABLE}_event_id ON {TABLE} (namespace, event_id)"
    " WHERE event_id IS NOT NULL",
    f"CREATE INDEX {TABLE}_ts ON {TABLE} (ts_ns, seq)",
)

_HORIZON_V2 = (
    f"CREATE TABLE {HORIZON} (id INTEGER PRIMARY KEY CHECK (id = 1), horizon_ns BIGINT)",
    f"INSERT INTO {HORIZON} (id, horizon_ns) VALUES (1, NULL)",
)

MIGRATIONS = (
    Migration(1, "events", sqlite=_SQLITE_V1, postgres=_POSTGRES_V1),
    Migration(2, "a shared retention horizon", sqlite=_HORIZON_V2, postgres=_HORIZON_V2),
)
