"""Fixtures of the audit tests: the service on a real server, over either store.

`start_audit` is parametrized over both backends: every test that uses it
runs once on a SQLite file and once on a fresh schema of the real PostgreSQL
(which must be up: those runs fail, never skip, without it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from audit_support import AUTH, Audit, StartAudit, WallClock
from prometheus_client import CollectorRegistry

from extplane.audit.config import AuditSettings
from extplane.audit.service import AuditService
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from tests.loopback import runtime_server


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'store' / 'audit.db'}"
    dsn: str = request.getfixturevalue("postgres_dsn")
    return dsn


class _Stack:
    def __init__(self) -> None:
        self.started: list[tuple[grpc.aio.Server, AuditService, grpc.aio.Channel]] = []

    async def serve(self, database_url: str, data_dir: Path, **options: Any) -> Audit:
        clock = options.pop("clock", None) or WallClock()
        registry = CollectorRegistry()
        settings = AuditSettings(port=0, database_url=database_url, **options)
        kit = ServiceKit.for_directory(
            data_dir, auth=AuthSettings.model_validate(AUTH), registry=registry, clock_ns=clock
        )
        service = AuditService(settings, kit)
        server = runtime_server()
        service.add_to_server(server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            await service.start()
        except BaseException:
            await server.stop(None)
            raise
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.started.append((server, service, channel))
        return Audit(service, f"127.0.0.1:{port}", channel, registry, database_url, clock)

    async def close(self) -> None:
        for server, service, channel in reversed(self.started):
            await channel.close()
            await server.stop(None)
            await service.stop()


@pytest.fixture
async def start_audit(database_url: str, tmp_path: Path) -> AsyncIterator[StartAudit]:
    """Starts the service (keyword arguments: AuditSettings fields, `clock`)."""
    stack = _Stack()

    async def start(**options: Any) -> Audit:
        return await stack.serve(database_url, tmp_path / "data", **options)

    yield start
    await stack.close()


@pytest.fixture
async def start_sqlite_audit(tmp_path: Path) -> AsyncIterator[StartAudit]:
    """The same on SQLite only, for behaviour decided before the store is reached."""
    stack = _Stack()

    async def start(**options: Any) -> Audit:
        url = f"sqlite:{tmp_path / 'store' / 'audit.db'}"
        return await stack.serve(url, tmp_path / "data", **options)

    yield start
    await stack.close()


@pytest.fixture
async def witness_audit(tmp_path: Path) -> AsyncIterator[Audit]:
    """A second audit service, on its own SQLite file: a remote witness."""
    stack = _Stack()
    yield await stack.serve(f"sqlite:{tmp_path / 'witness' / 'audit.db'}", tmp_path / "witness")
    await stack.close()
