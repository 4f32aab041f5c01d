"""Fixtures for end-to-end tests of the `extplane` command."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.cli_process import RunningCli


@pytest.fixture
def cli_processes() -> Iterator[list[RunningCli]]:
    started: list[RunningCli] = []
    yield started
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)
