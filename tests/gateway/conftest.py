"""Fixtures: a real grpc.aio upstream and the real gateway in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from gateway_servers import Gateway, Upstream, close_gateway, open_gateway, serving_upstream


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    async with serving_upstream() as running:
        yield running


@pytest.fixture
async def gateway(upstream: Upstream) -> AsyncIterator[Gateway]:
    opened = await open_gateway(upstream.address)
    try:
        yield opened
    finally:
        await close_gateway(opened)
