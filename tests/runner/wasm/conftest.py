"""Fixtures of the WebAssembly host tests (helpers: wasm_support.py): the real host
service on 127.0.0.1 (tests/host/real_host.py)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "host"))

from real_host import RealHost, serve_real_host  # noqa: E402


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[RealHost]:
    async with serve_real_host(f"sqlite:{tmp_path / 'host.db'}", tmp_path / "data") as real:
        yield real
