"""Settings of the audit service (`[audit]` in the TOML file, `EXTPLANE_AUDIT__*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from extplane.runtime.service_settings import SinkSettings, port_field

DEFAULT_DATABASE_FILE = "audit.db"
DEFAULT_SIGNING_KEY_FILE = "audit-signing-key.pem"
DEFAULT_SIGNING_KEY_DIR = "audit-keys"


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
