"""Metering settings: defaults, the documented TOML, environment variables, and
invalid values refused at start with the field named."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from metering_support import documented_toml
from pydantic import ValidationError

from extplane.config import Settings, load_settings
from extplane.metering.config import MeteringSettings
from extplane.metering.service import metering_store
from extplane.metering.store.postgres import PostgresMeteringStore
from extplane.metering.store.sqlite import SqliteMeteringStore


def test_the_defaults() -> None:
    settings = Settings().metering

    assert settings == MeteringSettings()
    assert settings.port == 50052
    assert settings.database_url is None
    assert settings.max_batch_events == 1000
    assert settings.retention_s is None
    assert settings.rate_card.currency == "USD"
    assert settings.rate_card.price("any-model").input_per_million == 0


def test_the_documented_toml_loads_with_exact_prices(tmp_path: Path) -> None:
    config = tmp_path / "extplane.toml"
    config.write_text(documented_toml())

    settings = load_settings(config)

    card = settings.metering.rate_card
    assert card.price("gpt-4o").input_per_million == Decimal("2.50")
    assert card.price("gpt-4o").output_per_million == Decimal("10.00")
    assert card.price("claude-sonnet").output_per_million == Decimal(15)
    assert card.price("unlisted").input_per_million == Decimal("1.00")
    assert settings.metering.retention_s == 400 * 86_400
    assert [t.roles for t in settings.auth.tokens] == [["metering.reader"], ["metering.writer"]]


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXTPLANE_METERING__PORT", "6052")
    monkeypatch.setenv("EXTPLANE_METERING__RETENTION_DAYS", "30")
    monkeypatch.setenv(
        "EXTPLANE_METERING__RATE_CARD",
        '{"currency": "EUR", "models": {"m": {"input_per_million": "0.15"}}}',
    )

    settings = Settings().metering

    assert settings.port == 6052
    assert settings.retention_s == 30 * 86_400
    assert settings.rate_card.currency == "EUR"
    assert settings.rate_card.price("m").input_per_million == Decimal("0.15")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"rate_card": {"default": {"input_per_million": "-0.01"}}}, "input_per_million"),
        ({"rate_card": {"models": {"m": {"output_per_million": "NaN"}}}}, "output_per_million"),
        (
            {"rate_card": {"models": {"m": {"output_per_million": "Infinity"}}}},
            "output_per_million",
        ),
        ({"rate_card": {"currency": "usd"}}, "currency"),
        ({"rate_card": {"default": {"price": "1"}}}, "price"),
        ({"max_batch_events": 1001}, "max_batch_events"),
        ({"max_batch_events": 0}, "max_batch_events"),
        ({"retention_days": -1}, "retention_days"),
        ({"retention_interval_s": 0}, "retention_interval_s"),
        ({"min_timestamp": "2000-01-01T00:00:00"}, "min_timestamp"),
        ({"min_timestamp": "1969-12-31T23:59:59Z"}, "min_timestamp"),
        ({"port": 70000}, "port"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_settings_are_refused_naming_the_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        MeteringSettings.model_validate(values)

    assert field in str(refused.value)


def test_the_database_url_chooses_the_store(tmp_path: Path) -> None:
    default = metering_store(MeteringSettings(), tmp_path)
    relative = metering_store(MeteringSettings(database_url="sqlite:usage/m.db"), tmp_path)
    postgres = metering_store(
        MeteringSettings(database_url="postgresql://u:secret@127.0.0.1:5432/db"), tmp_path
    )

    assert isinstance(default, SqliteMeteringStore)
    assert default.description == f"sqlite:{tmp_path / 'metering.db'}"
    assert relative.description == f"sqlite:{tmp_path / 'usage' / 'm.db'}"
    assert isinstance(postgres, PostgresMeteringStore)
    assert "secret" not in postgres.description
    with pytest.raises(ValueError, match="database_url"):
        metering_store(MeteringSettings(database_url="mysql://x"), tmp_path)
