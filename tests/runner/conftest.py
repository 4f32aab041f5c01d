"""Fixtures of the runner tests: the whole execute path on loopback (`runner_support`)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# The real host of tests/host (real_host.py imports its helpers by module name).
sys.path.insert(0, str(Path(__file__).parent.parent / "host"))

from tests.runner.runner_support import World, serve_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with serve_world(tmp_path) as running:
        yield running
