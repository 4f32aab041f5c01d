"""Settings of the audit service (`[audit]` in the TOML file, `EXTPLANE_AUDIT__*`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The proto documents at most 1000 events per RecordAuditBatch call.
PROTO_MAX_BATCH_EVENTS = 1000
DEFAULT_DATABASE_FILE = "audit.db"
DEFAULT_SIGNING_KEY_FILE = "audit-signing-key.pem"


class AuditSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: int = Field(default=50053, ge=0, le=65535)
    database_url: str | None = Field(
        default=None,
        description=f"Unset: SQLite file {DEFAULT_DATABASE_FILE} in data_dir; 'sqlite:PATH' or "
        "'postgresql://user@host:5432/db' otherwise (replicas may share one PostgreSQL).",
    )
    max_batch_events: int = Field(
        default=PROTO_MAX_BATCH_EVENTS,
        ge=1,
        le=PROTO_MAX_BATCH_EVENTS,
        description="Most events one RecordAuditBatch call may carry.",
    )
    max_commit_events: int = Field(
        default=10_000,
        ge=PROTO_MAX_BATCH_EVENTS,
        description="Most events one group-commit transaction holds.",
    )
    max_details_entries: int = Field(
        default=64, ge=0, le=10_000, description="Most entries an event's `details` may have."
    )
    max_details_bytes: int = Field(
        default=8192,
        ge=0,
        le=1 << 20,
        description="Most UTF-8 bytes of an event's `details`, keys and values together.",
    )
    max_future_skew_s: float = Field(
        default=3600.0,
        ge=0,
        description="Events timestamped further than this in the future are refused.",
    )
    min_timestamp: datetime = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC),
        description="Events timestamped before this are refused (a clock that was never set).",
    )
    checkpoint_every_records: int = Field(
        default=1000, ge=1, description="Sign a checkpoint once this many records are unsigned."
    )
    checkpoint_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="Sign a checkpoint at least this often while the head moves.",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description=f"Ed25519 private key (PKCS#8 PEM) signing checkpoints. Unset: "
        f"{DEFAULT_SIGNING_KEY_FILE} in data_dir. Created (mode 0600) when absent.",
    )
    retention_days: float | None = Field(
        default=None,
        gt=0,
        description="Records stored longer ago than this are pruned; unset: keep forever.",
    )
    retention_interval_s: float = Field(
        default=3600.0, gt=0, description="How often the retention task runs."
    )
    retention_max_records: int = Field(
        default=100_000,
        ge=1,
        description="Most records one pruning transaction deletes (a run may take several).",
    )

    @model_validator(mode="after")
    def _timezone_aware(self) -> AuditSettings:
        if self.min_timestamp.tzinfo is None:
            raise ValueError("min_timestamp must carry a time zone (e.g. 2000-01-01T00:00:00Z)")
        return self

    def signing_key_path(self, data_dir: Path) -> Path:
        return self.signing_key_file or data_dir / DEFAULT_SIGNING_KEY_FILE
