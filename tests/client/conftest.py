"""The metering and audit services, hosted as the suite hosts them, for the typed clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.query_suite import QuerySuite, query_suite

RATE_CARD = {
    "currency": "EUR",
    "default": {"input_per_million": "1", "output_per_million": "2"},
    "models": {"gpt-x": {"input_per_million": "2.50", "output_per_million": "10"}},
}


@pytest.fixture
async def suite(tmp_path: Path) -> AsyncIterator[QuerySuite]:
    async with query_suite(
        tmp_path / "data",
        metering={"port": 0, "rate_card": RATE_CARD},
        # Small enough that a few records are signed promptly.
        audit={"port": 0, "checkpoint_every_records": 5, "checkpoint_interval_s": 0.05},
    ) as running:
        yield running
