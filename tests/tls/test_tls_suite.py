"""The whole suite with mTLS on every server and client_tls on every outbound call:
the gateway over HTTPS, its upstream channels, the capability service's providers,
a sink adapter and a typed query client, all over real loopback connections."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tls_whoami import WhoAmIDefinition

from extplane.config import Settings
from extplane.runtime import Metrics
from extplane.runtime.server import GrpcServer
from extplane.suite import Suite
from extplane_client import ClientTls, GrpcMeteringSink, MeteringQueryClient
from extplane_client.metering_sink import MeteringEvent
from tests.query_suite import BILLING_TOKEN, TOKENS
from tests.tls_certs import CLIENT_SUBJECT, Pki


@pytest.fixture
async def provider(pki: Pki) -> AsyncIterator[GrpcServer]:
    """A remote capability provider that requires mTLS and reports who called it."""
    server = GrpcServer(
        WhoAmIDefinition(),
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=0,
        tls=pki.server_tls(mtls=True),
    )
    await server.start()
    yield server
    await server.stop(0)


@pytest.fixture
async def suite(pki: Pki, tmp_path: Path, provider: GrpcServer) -> AsyncIterator[Suite]:
    settings = Settings(
        data_dir=tmp_path / "data",
        capabilities={"port": 0, "providers": [{"name": "whoami", "address": provider.address}]},
        metering={"port": 0},
        audit={"port": 0},
        gateway={"port": 0},
        metrics={"enabled": False},
        auth={"tokens": TOKENS},
        tls=pki.server_tls(mtls=True),
        client_tls=pki.client_tls("client"),
    )
    async with Suite(settings, metrics=Metrics()) as running:
        yield running


def _https(pki: Pki, suite: Suite, who: str | None = "client") -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=pki.ca_file)
    if who is not None:
        context.load_cert_chain(pki.directory / f"{who}.crt", pki.directory / f"{who}.key")
    assert suite.gateway is not None
    return httpx.AsyncClient(
        base_url=f"https://localhost:{suite.gateway.port}", verify=context, timeout=10.0
    )


def test_the_suite_announces_secure_addresses(suite: Suite) -> None:
    schemes = {name: address.partition("://")[0] for name, address in suite.addresses()}
    assert schemes == {
        "capabilities": "grpcs",
        "metering": "grpcs",
        "audit": "grpcs",
        "host": "grpcs",
        "runner": "grpcs",
        "gateway": "https",
    }


async def test_https_with_a_client_certificate_reaches_providers_over_mtls(
    pki: Pki, suite: Suite
) -> None:
    # Client certificate -> gateway (HTTPS) -> capabilities (mTLS) -> provider (mTLS).
    async with _https(pki, suite) as client:
        response = await client.get("/v1/capabilities")
    assert response.status_code == 200, response.text
    metadata = response.json()["metadata"]
    assert metadata["subject"] == CLIENT_SUBJECT
    assert "extplane.providers.degraded" not in metadata


@pytest.mark.parametrize("who", [None, "expired", "stranger"])
async def test_the_gateway_refuses_https_without_a_good_client_certificate(
    pki: Pki, suite: Suite, who: str | None
) -> None:
    async with _https(pki, suite, who) as client:
        with pytest.raises(httpx.TransportError):
            await client.get("/v1/capabilities")


async def test_the_gateway_speaks_no_plaintext_http(suite: Suite) -> None:
    assert suite.gateway is not None
    async with httpx.AsyncClient(timeout=5.0) as client:
        with pytest.raises(httpx.TransportError):
            await client.get(f"http://127.0.0.1:{suite.gateway.port}/healthz")


async def test_a_sink_adapter_delivers_over_mtls_and_the_events_are_queryable(
    pki: Pki, suite: Suite
) -> None:
    address = f"127.0.0.1:{suite.servers['metering'].port}"
    sink = GrpcMeteringSink(address, tls=pki.client_tls("client"))
    try:
        for i in range(5):
            sink.record(MeteringEvent(namespace="team-tls", agent="a", model="m", tokens_in=i))
        # In a thread: the service answering runs in this event loop.
        assert await asyncio.to_thread(sink.flush, 10.0)
        assert sink.stats().delivered == 5
    finally:
        await asyncio.to_thread(sink.close, 5.0)
    async with MeteringQueryClient(
        address, token=BILLING_TOKEN, tls=pki.client_tls("client")
    ) as client:
        page = await client.list_metering_events(
            start=datetime.now(UTC) - timedelta(hours=1), namespace="team-tls"
        )
    assert sorted(stored.event.tokens_in for stored in page.events) == [0, 1, 2, 3, 4]
    # The same events through the gateway, over HTTPS with the client certificate.
    async with _https(pki, suite) as client:
        response = await client.get(
            "/v1/metering/events",
            params={"namespace": "team-tls"},
            headers={"authorization": f"Bearer {BILLING_TOKEN}"},
        )
    assert response.status_code == 200, response.text
    assert len(response.json()["events"]) == 5


async def test_a_sink_adapter_without_a_client_certificate_delivers_nothing(
    pki: Pki, suite: Suite
) -> None:
    address = f"127.0.0.1:{suite.servers['metering'].port}"
    sink = GrpcMeteringSink(address, tls=ClientTls(ca_file=pki.ca_file))
    try:
        sink.record(MeteringEvent(namespace="team-tls", agent="a", model="m"))
        assert not await asyncio.to_thread(sink.flush, 1.0)
        assert sink.stats().delivered == 0
    finally:
        await asyncio.to_thread(sink.close, 0.1)
