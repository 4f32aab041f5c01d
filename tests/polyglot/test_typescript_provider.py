"""A CapabilityProvider written in TypeScript, served over real gRPC, merged by the service.

The provider is `clients/typescript/examples/capability-provider.ts`, built with
`npm run build` and run with Node as a subprocess; everything talks over loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc
import pytest
from prometheus_client import CollectorRegistry

from extplane.capabilities.config import CapabilitiesSettings, ExtensionProviderSettings
from extplane.capabilities.service import CapabilitiesService
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc
from tests.polyglot.conftest import EXAMPLES_DIST

PROVIDER_SCRIPT = EXAMPLES_DIST / "capability-provider.js"
PROVIDER_ARGS = (
    "--feature",
    "billing=true",
    "--feature",
    "billing.invoices.export=false",
    "--meta",
    "billing.plan=pro",
)
STARTUP_TIMEOUT_S = 30.0
EXIT_TIMEOUT_S = 10.0


@dataclass
class NodeProvider:
    process: asyncio.subprocess.Process
    address: str

    async def stop(self) -> int:
        """SIGTERM, then the exit code; killed if it does not drain in time."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), EXIT_TIMEOUT_S)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        assert self.process.returncode is not None
        return self.process.returncode


async def _start_provider(node: str, *args: str) -> NodeProvider:
    process = await asyncio.create_subprocess_exec(
        node,
        str(PROVIDER_SCRIPT),
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"TypeScript provider printed nothing in {STARTUP_TIMEOUT_S}s")
    words = line.decode().split()
    if len(words) != 2 or words[0] != "listening":
        await process.wait()
        stderr = (await process.stderr.read()).decode()
        pytest.fail(f"TypeScript provider did not start: {line!r}\n{stderr}")
    return NodeProvider(process, f"127.0.0.1:{int(words[1])}")


@pytest.fixture
async def typescript_provider(node: str) -> AsyncIterator[NodeProvider]:
    provider = await _start_provider(node, *PROVIDER_ARGS)
    try:
        yield provider
    finally:
        await provider.stop()


@asynccontextmanager
async def capability_service(settings: CapabilitiesSettings) -> AsyncIterator[str]:
    """The Python capability service on a plain `grpc.aio` server; yields its address."""
    service = CapabilitiesService(
        settings, running_services=["capabilities"], registry=CollectorRegistry()
    )
    server = grpc.aio.server()
    service.add_to_server(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await service.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)
        await service.stop()


async def fetch_snapshot(address: str) -> capabilities_pb2.CapabilitySnapshot:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = capabilities_pb2_grpc.CapabilityProviderStub(channel)
        response = await stub.Capabilities(capabilities_pb2.CapabilitiesRequest(), timeout=10.0)
    assert response.HasField("snapshot")
    return response.snapshot


async def test_generated_python_stub_reads_the_typescript_snapshot(
    typescript_provider: NodeProvider,
) -> None:
    snapshot = await fetch_snapshot(typescript_provider.address)

    assert dict(snapshot.features) == {"billing": True, "billing.invoices.export": False}
    assert dict(snapshot.metadata) == {"billing.plan": "pro"}


async def test_service_merges_the_typescript_provider_and_reports_it_when_gone(
    typescript_provider: NodeProvider,
) -> None:
    provider = ExtensionProviderSettings(name="billing", address=typescript_provider.address)
    settings = CapabilitiesSettings(
        providers=[provider],
        # Generous for a shared machine; no cache, so each call asks the provider again.
        provider_timeout_s=5.0,
        cache_ttl_s=0,
    )
    async with capability_service(settings) as address:
        merged = await fetch_snapshot(address)

        assert merged.features["capabilities"] is True
        assert merged.features["billing"] is True
        assert merged.features["billing.invoices.export"] is False
        assert merged.metadata["billing.plan"] == "pro"
        assert merged.metadata["extplane.providers"] == "billing"
        assert "extplane.providers.degraded" not in merged.metadata
        assert "extplane.providers.conflicts" not in merged.metadata

        assert await typescript_provider.stop() == 0
        degraded = await fetch_snapshot(address)

        assert degraded.features["capabilities"] is True
        assert "billing" not in degraded.features
        assert "billing.plan" not in degraded.metadata
        assert degraded.metadata["extplane.providers.degraded"] == "billing=UNAVAILABLE"


async def test_typescript_provider_rejects_a_bad_flag_by_name(node: str) -> None:
    process = await asyncio.create_subprocess_exec(
        node,
        str(PROVIDER_SCRIPT),
        "--feature",
        "billing=maybe",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), STARTUP_TIMEOUT_S)
    finally:
        if process.returncode is None:  # it started serving instead of refusing
            process.kill()
            await process.wait()

    assert process.returncode == 2
    assert stdout == b""
    assert '--feature billing: expected true or false, got "maybe"' in stderr.decode()
