"""Settings of the audit service (`[audit]` in the TOML file, `EXTPLANE_AUDIT__*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from extplane.runtime.service_settings import SinkSettings, port_field
from extplane_client.tls import ClientTls

DEFAULT_DATABASE_FILE = "audit.db"
DEFAULT_SIGNING_KEY_FILE = "audit-signing-key.pem"
DEFAULT_SIGNING_KEY_DIR = "audit-keys"


class WitnessSink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=1, description="host:port of the remote AuditSink")
    token: str = Field(default="", description="bearer token with audit.writer there (empty: none)")
    tls: ClientTls | None = Field(
        default=None, description="TLS (and mTLS) to it; unset: plaintext"
    )


class AuditSettings(SinkSettings):
    port: int = port_field(50053)
    max_details_entries: int = Field(
        default=64, ge=0, le=10_000, description="Most entries an event's `details` may have."
    )
    max_details_bytes: int = Field(
        default=8192,
        ge=0,
        le=1 << 20,
        description="Most UTF-8 bytes of an event's `details`, keys and values together.",
    )
    checkpoint_every_records: int = Field(
        default=1000, ge=1, description="Sign a checkpoint once this many records are unsigned."
    )
    checkpoint_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="Sign a checkpoint at least this often while the head moves.",
    )
    signing_key_dir: Path | None = Field(
        default=None,
        description=f"The key ring signing checkpoints (extplane.keys: one PEM file per "
        f"key and an `active` file). Unset: {DEFAULT_SIGNING_KEY_DIR} in data_dir. A first "
        "key is created only for a log with no checkpoints yet.",
    )
    signing_key_file: Path | None = Field(
        default=None,
        description=f"A single signing key from before key rings (PKCS#8 PEM; unset: "
        f"{DEFAULT_SIGNING_KEY_FILE} in data_dir, when it exists): imported into an empty "
        "signing_key_dir on start.",
    )
    witness_files: list[Path] = Field(
        default_factory=list,
        description="Append-only witnesses of every new checkpoint: a directory (one file "
        "per checkpoint) or a file (one JSON line per checkpoint, appended).",
    )
    witness_sinks: list[WitnessSink] = Field(
        default_factory=list,
        description="Remote audit services (AuditSink) that record every new checkpoint "
        "as an audit event of their own log.",
    )
    witness_origin: str = Field(
        default="extplane",
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="This log's name at remote witnesses (resource audit-log/ORIGIN).",
    )
    retention_max_records: int = Field(
        default=100_000,
        ge=1,
        description="Most records one pruning transaction deletes (a run may take several).",
    )

    def signing_key_path(self, data_dir: Path) -> Path:
        """The legacy single key file."""
        return self.signing_key_file or data_dir / DEFAULT_SIGNING_KEY_FILE

    def signing_key_directory(self, data_dir: Path) -> Path:
        return self.signing_key_dir or data_dir / DEFAULT_SIGNING_KEY_DIR
