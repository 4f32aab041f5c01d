"""The gateway's HTTPS listener serves rotated certificate files to new connections,
without a restart; a rotation caught halfway keeps the old pair."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from extplane.gateway.config import GatewaySettings
from extplane.gateway.server import GatewayServer
from extplane.runtime.tls import TlsSettings
from tests.tls_certs import Pki, served_common_name


def _no_upstream(service: str) -> str:
    raise LookupError(service)


@pytest.fixture
async def gateway(pki: Pki, tmp_path: Path) -> AsyncIterator[GatewayServer]:
    cert, key = pki.rotated_server(tmp_path, "before.localhost")
    server = GatewayServer(
        GatewaySettings(port=0),
        host="127.0.0.1",
        upstream_for=_no_upstream,
        shutdown_grace_s=0,
        tls=TlsSettings(cert_file=cert, key_file=key, client_ca_file=pki.ca_file),
    )
    await server.start()
    yield server
    await server.stop()


async def _healthz(pki: Pki, port: int) -> int:
    context = ssl.create_default_context(cafile=pki.ca_file)
    context.load_cert_chain(pki.client_cert, pki.client_key)
    async with httpx.AsyncClient(verify=context, timeout=5.0) as client:
        return (await client.get(f"https://localhost:{port}/healthz")).status_code


async def test_a_rotated_certificate_reaches_new_connections_without_a_restart(
    pki: Pki, tmp_path: Path, gateway: GatewayServer
) -> None:
    client = pki.client_tls("client")
    assert await served_common_name(gateway.port, pki, client, alpn="http/1.1") == (
        "before.localhost"
    )
    assert await _healthz(pki, gateway.port) == 200

    pki.rotated_server(tmp_path, "after.localhost")
    assert await served_common_name(gateway.port, pki, client, alpn="http/1.1") == (
        "after.localhost"
    )
    assert await _healthz(pki, gateway.port) == 200


async def test_a_half_written_rotation_keeps_the_old_pair(
    pki: Pki, tmp_path: Path, gateway: GatewayServer
) -> None:
    client = pki.client_tls("client")
    (tmp_path / "server.key").write_bytes(pki.client_key.read_bytes())
    assert await served_common_name(gateway.port, pki, client, alpn="http/1.1") == (
        "before.localhost"
    )
    assert await _healthz(pki, gateway.port) == 200
    pki.rotated_server(tmp_path, "after.localhost")
    assert await served_common_name(gateway.port, pki, client, alpn="http/1.1") == (
        "after.localhost"
    )


async def test_client_ca_stays_enforced_after_a_rotation(
    pki: Pki, tmp_path: Path, gateway: GatewayServer
) -> None:
    pki.rotated_server(tmp_path, "after.localhost")
    context = ssl.create_default_context(cafile=pki.ca_file)
    context.load_cert_chain(pki.stranger_cert, pki.stranger_key)
    async with httpx.AsyncClient(verify=context, timeout=5.0) as stranger:
        with pytest.raises(httpx.TransportError):
            await stranger.get(f"https://localhost:{gateway.port}/healthz")
    assert await _healthz(pki, gateway.port) == 200
