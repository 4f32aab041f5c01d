"""Settings of the metering service (`[metering]` in the TOML file, `EXTPLANE_METERING__*`)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from extplane.runtime.service_settings import SinkSettings, port_field


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


class MeteringSettings(SinkSettings):
    port: int = port_field(50052)
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
