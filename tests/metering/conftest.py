"""Fixtures of the metering tests: the service on a real server, over either store.

`start_metering` is parametrized over both backends: every test that uses it
runs once on a SQLite file and once on a fresh schema of the real PostgreSQL
(which must be up: those runs fail, never skip, without it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from metering_support import AUTH, Metering, StartMetering, WallClock
from prometheus_client import CollectorRegistry

from extplane.metering.config import MeteringSettings
from extplane.metering.service import MeteringService
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from tests.loopback import runtime_server


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'store' / 'metering.db'}"
    dsn: str = request.getfixturevalue("postgres_dsn")
    return dsn


async def _serve(
    database_url: str, data_dir: Path, stack: list[tuple[grpc.aio.Server, Any, Any]], **options: Any
) -> Metering:
    clock = options.pop("clock", None) or WallClock()
    registry = CollectorRegistry()
    settings = MeteringSettings(port=0, database_url=database_url, **options)
    kit = ServiceKit.for_directory(
        data_dir, auth=AuthSettings.model_validate(AUTH), registry=registry, clock_ns=clock
    )
    service = MeteringService(settings, kit)
    server = runtime_server()
    service.add_to_server(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await service.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stack.append((server, service, channel))
    return Metering(service, f"127.0.0.1:{port}", channel, clock, registry)


@pytest.fixture
async def start_metering(database_url: str, tmp_path: Path) -> AsyncIterator[StartMetering]:
    """Starts the service (keyword arguments: MeteringSettings fields, `clock`)."""
    stack: list[tuple[grpc.aio.Server, Any, Any]] = []

    async def start(**options: Any) -> Metering:
        return await _serve(database_url, tmp_path / "data", stack, **options)

    yield start
    for server, service, channel in reversed(stack):
        await channel.close()
        await server.stop(None)
        await service.stop()


@pytest.fixture
async def start_sqlite_metering(tmp_path: Path) -> AsyncIterator[StartMetering]:
    """The same on SQLite only, for behaviour decided before the store is reached."""
    stack: list[tuple[grpc.aio.Server, Any, Any]] = []

    async def start(**options: Any) -> Metering:
        return await _serve(f"sqlite:{tmp_path / 'metering.db'}", tmp_path, stack, **options)

    yield start
    for server, service, channel in reversed(stack):
        await channel.close()
        await server.stop(None)
        await service.stop()
