"""Fixtures of the host tests: the install registry on a real server, over either
store; a key ring with an issuer and a verifier of its keys.

`registry` is parametrized over both backends: every test that uses it runs
once on a SQLite file and once on a fresh schema of the real PostgreSQL
(which must be up: those runs fail, never skip, without it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from host_support import AUTH, Registry
from prometheus_client import CollectorRegistry

from extplane.host import InstallTokenIssuer, InstallTokenVerifier
from extplane.host.config import HostSettings
from extplane.host.service import HostService
from extplane.keys import KeyRing, rotate
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from tests.loopback import runtime_server


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:{tmp_path / 'store' / 'host.db'}"
    dsn: str = request.getfixturevalue("postgres_dsn")
    return dsn


@pytest.fixture
async def registry(database_url: str, tmp_path: Path) -> AsyncIterator[Registry]:
    settings = HostSettings(port=0, database_url=database_url)
    kit = ServiceKit.for_directory(
        tmp_path / "data", auth=AuthSettings.model_validate(AUTH), registry=CollectorRegistry()
    )
    service = HostService(settings, kit)
    server = runtime_server()
    service.add_to_server(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await service.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Registry(service, f"127.0.0.1:{port}", channel)
    finally:
        await channel.close()
        await server.stop(None)
        await service.stop()


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    rotate(tmp_path / "keys")
    return KeyRing.load(tmp_path / "keys")


@pytest.fixture
def issuer(ring: KeyRing) -> InstallTokenIssuer:
    return InstallTokenIssuer(ring)


@pytest.fixture
def verifier(ring: KeyRing) -> InstallTokenVerifier:
    return InstallTokenVerifier.from_ring(ring)
