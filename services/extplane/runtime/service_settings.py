"""Settings every stateful service shares, each with one rule for all of them.

A service's section subclasses one of these and adds its own fields; its
port default is its own (`port: int = port_field(50052)`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from extplane.storage.location import check_database_url

# The protos document at most 1000 events per batch call.
PROTO_MAX_BATCH_EVENTS = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def port_field(default: int) -> Any:
    return Field(default=default, ge=0, le=65535, description="gRPC port (0: any free port).")


class StatefulServiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: int = port_field(0)
    database_url: str | None = Field(
        default=None,
        description="Unset: an SQLite file in data_dir; 'sqlite:PATH' or "
        "'postgresql://user@host:5432/db' otherwise (replicas may share one PostgreSQL).",
    )
    retention_days: float | None = Field(
        default=None,
        ge=0,
        description="Data older than this is pruned; 0 or unset: keep forever.",
    )
    retention_interval_s: float = Field(
        default=3600.0, gt=0, description="How often the retention task runs."
    )

    @field_validator("database_url")
    @classmethod
    def _names_a_store(cls, value: str | None) -> str | None:
        return check_database_url(value)

    @property
    def retention_s(self) -> float | None:
        """The retention age in seconds, or None to keep everything."""
        if not self.retention_days:
            return None
        return self.retention_days * 86_400


class SinkSettings(StatefulServiceSettings):
    """A service that ingests timestamped events (a sink)."""

    max_batch_events: int = Field(
        default=PROTO_MAX_BATCH_EVENTS,
        ge=1,
        le=PROTO_MAX_BATCH_EVENTS,
        description="Most events one batch call may carry.",
    )
    max_commit_events: int = Field(
        default=10_000,
        ge=PROTO_MAX_BATCH_EVENTS,
        description="Most events one group-commit transaction holds.",
    )
    max_future_skew_s: float = Field(
        default=3600.0,
        ge=0,
        le=366 * 86_400,
        description="Events timestamped further than this in the future are refused.",
    )
    min_timestamp: datetime = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC),
        description="Events timestamped before this are refused (a clock that was never set).",
    )

    @field_validator("min_timestamp")
    @classmethod
    def _aware_and_after_the_epoch(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("min_timestamp needs a time zone (e.g. 2000-01-01T00:00:00Z)")
        # Stores keep unsigned nanoseconds since the epoch (windows, chain headers).
        if value < _EPOCH:
            raise ValueError("min_timestamp must not be before 1970-01-01T00:00:00Z")
        return value
