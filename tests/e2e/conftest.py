"""Fixtures for end-to-end tests of the `extplane` command."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e.cli_process import RunningCli
from tests.query_suite import QuerySuite, query_suite

RATE_CARD = {
    "currency": "EUR",
    "models": {"gpt-x": {"input_per_million": "2.50", "output_per_million": "10"}},
}


@pytest.fixture
def cli_processes() -> Iterator[list[RunningCli]]:
    started: list[RunningCli] = []
    yield started
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


@pytest.fixture
async def queries(tmp_path: Path) -> AsyncIterator[QuerySuite]:
    """Metering (EUR rate card) and audit, hosted in this process, for the CLI to query."""
    async with query_suite(
        tmp_path / "suite",
        metering={"port": 0, "rate_card": RATE_CARD},
        audit={"port": 0, "checkpoint_every_records": 10},
    ) as running:
        yield running
