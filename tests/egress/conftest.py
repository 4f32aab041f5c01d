"""Fixtures of the egress tests: origins and canaries on loopback, a resolver that
answers from a table, and a dialer that refuses anything outside loopback.

Every guard a test builds uses `dialer` (LoopbackOnlyDialer) and `resolver`
(StaticResolver): no test ever resolves a real name or dials another address,
and each test ends by asserting the dialer was never asked to.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from extplane.host.egress.testing import LoopbackOnlyDialer, StaticResolver
from tests.egress.certs import server_tls
from tests.egress.origin import Canary, Origin

TLS_NAME = "api.example.test"


@pytest.fixture
def dialer() -> Iterator[LoopbackOnlyDialer]:
    dialer = LoopbackOnlyDialer()
    yield dialer
    assert dialer.violations == [], "the guard tried to dial outside loopback"


@pytest.fixture
def resolver() -> StaticResolver:
    return StaticResolver()


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    async with Origin() as served:
        yield served


@pytest.fixture
async def tls_origin(tmp_path: Path) -> AsyncIterator[tuple[Origin, Path]]:
    context, ca_file = server_tls(tmp_path / "tls", [TLS_NAME])
    async with Origin(tls=context) as served:
        yield served, ca_file


@pytest.fixture
async def canary() -> AsyncIterator[Canary]:
    """A canary on 127.0.0.1: every attack aims at its port, and it must count zero."""
    served = await Canary().start()
    yield served
    await served.close()
    assert served.hits == 0, "a refused request reached the canary"
