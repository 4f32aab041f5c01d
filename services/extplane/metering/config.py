"""Settings of the metering service (`[metering]` in the TOML file, `EXTPLANE_METERING__*`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The proto documents at most 1000 events per RecordMeteringBatch call.
PROTO_MAX_BATCH_EVENTS = 1000


class ModelPrice(BaseModel):
    """What one model costs, per million tokens, in the rate card's currency.

    Write prices as strings in TOML ("2.50"): a TOML float is binary and may
    not be the decimal you meant.
    """

    model_config = ConfigDict(extra="forbid")

    input_per_million: Decimal = Field(
        default=Decimal(0), ge=0, allow_inf_nan=False, description="Price of 1M input tokens."
    )
    output_per_million: Decimal = Field(
        default=Decimal(0), ge=0, allow_inf_nan=False, description="Price of 1M output tokens."
    )


class RateCard(BaseModel):
    """Prices per model; `default` prices every model not listed (and events without one)."""

    model_config = ConfigDict(extra="forbid")

    currency: str = Field(
        default="USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of every price."
    )
    default: ModelPrice = Field(default_factory=ModelPrice)
    models: dict[str, ModelPrice] = Field(default_factory=dict)

    def price(self, model: str) -> ModelPrice:
        return self.models.get(model, self.default)


class MeteringSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: int = Field(default=50052, ge=0, le=65535)
    database_url: str | None = Field(
        default=None,
        description="Unset: SQLite file metering.db in data_dir; 'sqlite:PATH' or "
        "'postgresql://user@host:5432/db' otherwise.",
    )
    max_batch_events: int = Field(
        default=PROTO_MAX_BATCH_EVENTS,
        ge=1,
        le=PROTO_MAX_BATCH_EVENTS,
        description="Most events one RecordMeteringBatch call may carry.",
    )
    max_commit_events: int = Field(
        default=10_000,
        ge=PROTO_MAX_BATCH_EVENTS,
        description="Most events one group-commit transaction holds.",
    )
    retention_days: float | None = Field(
        default=None,
        ge=0,
        description="Events whose timestamp is older than this are pruned; "
        "0 or unset: keep forever.",
    )
    retention_interval_s: float = Field(
        default=3600.0, gt=0, description="How often the retention task prunes."
    )
    max_future_skew_s: float = Field(
        default=3600.0,
        ge=0,
        description="Events timestamped further than this in the future are refused.",
    )
    min_timestamp: datetime = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC),
        description="Events timestamped before this are refused.",
    )
    max_usage_windows: int = Field(
        default=10_000,
        ge=1,
        description="Most windows a GetUsage range may span (e.g. ~7 days of minutes).",
    )
    max_usage_buckets: int = Field(
        default=10_000, ge=1, description="Most buckets (windows x groups) one GetUsage answers."
    )
    metrics_max_series: int = Field(
        default=1000,
        ge=1,
        description="Distinct (namespace, model) label pairs on the event and token counters; "
        "later pairs are counted under '_other'.",
    )
    rate_card: RateCard = Field(default_factory=RateCard)

    @field_validator("min_timestamp")
    @classmethod
    def _aware_and_after_the_epoch(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("min_timestamp needs a time zone (e.g. 2000-01-01T00:00:00Z)")
        # Windows are integer division of ns since the epoch, exact for t >= 0 only.
        if value < datetime(1970, 1, 1, tzinfo=UTC):
            raise ValueError("min_timestamp must not be before 1970-01-01T00:00:00Z")
        return value

    @property
    def retention_s(self) -> float | None:
        """The retention age in seconds, or None to keep every event."""
        if not self.retention_days:
            return None
        return self.retention_days * 86_400
