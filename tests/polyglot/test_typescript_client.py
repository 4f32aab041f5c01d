"""A TypeScript client calling the Python capability service over real gRPC.

The client is `clients/typescript/examples/capabilities-client.ts`, built with
`npm run build` and run with Node as a subprocess while the suite serves in this
event loop; everything talks over loopback.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import grpc
import pytest

from extplane.capabilities.config import CapabilitiesSettings, ExtensionProviderSettings
from extplane.config import MetricsSettings, Settings
from extplane.suite import Suite
from extplane_client import CapabilitiesClient
from extplane_client.testing import StaticCapabilityProvider, serve_capability_provider
from extplane_protos.orloj.extensions.v1 import capabilities_pb2
from tests.loopback import dead_address
from tests.polyglot.conftest import EXAMPLES_DIST

CLIENT_SCRIPT = EXAMPLES_DIST / "capabilities-client.js"
# Bounds a hung client process, never the call it makes: that has its own deadline.
RUN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ClientRun:
    returncode: int
    stdout: str
    stderr: str


@dataclass
class DeadlineRecordingProvider(StaticCapabilityProvider):
    """Notes the deadline each call arrived with (None: the caller sent none)."""

    deadlines_s: list[float | None] = field(default_factory=list)

    async def Capabilities(  # noqa: N802 - the generated servicer names the RPC method
        self,
        request: capabilities_pb2.CapabilitiesRequest,
        context: grpc.aio.ServicerContext[
            capabilities_pb2.CapabilitiesRequest, capabilities_pb2.CapabilitiesResponse
        ],
    ) -> capabilities_pb2.CapabilitiesResponse:
        self.deadlines_s.append(context.time_remaining())
        return await super().Capabilities(request, context)


async def run_client(node: str, *args: str) -> ClientRun:
    process = await asyncio.create_subprocess_exec(
        node,
        str(CLIENT_SCRIPT),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return ClientRun(process.returncode, stdout.decode(), stderr.decode())


async def test_typescript_client_prints_the_snapshot_the_python_client_reads(node: str) -> None:
    async with serve_capability_provider(
        features={"acme.sso": True, "acme.sso.scim": False},
        metadata={"acme.plan": "enterprise", "acme.region": "eu-west"},
    ) as served:
        capabilities = CapabilitiesSettings(
            port=0,
            providers=[ExtensionProviderSettings(name="acme", address=served.address)],
            # Generous for a shared machine; no cache, so each client's call reaches the provider.
            provider_timeout_s=10.0,
            cache_ttl_s=0,
        )
        settings = Settings(capabilities=capabilities, metrics=MetricsSettings(port=0))
        async with Suite(settings, names=("capabilities",)) as suite:
            address = f"127.0.0.1:{suite.servers['capabilities'].port}"

            run = await run_client(node, "--address", address, "--timeout-ms", "20000")
            async with CapabilitiesClient(address) as python_client:
                expected = await python_client.snapshot(timeout=20.0)

    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    printed = json.loads(run.stdout)
    assert printed == {"features": dict(expected.features), "metadata": dict(expected.metadata)}
    assert list(printed) == ["features", "metadata"]
    assert list(printed["features"]) == sorted(printed["features"])
    assert list(printed["metadata"]) == sorted(printed["metadata"])
    # Core and provider alike, and the provider neither degraded nor in conflict.
    assert printed["features"]["capabilities"] is True
    assert printed["features"]["acme.sso"] is True
    assert printed["features"]["acme.sso.scim"] is False
    assert printed["metadata"]["acme.plan"] == "enterprise"
    assert printed["metadata"]["acme.region"] == "eu-west"
    assert printed["metadata"]["extplane.providers"] == "acme"
    assert expected.degraded_providers == {}
    assert expected.conflicts == ()
    assert served.provider.calls == 2


async def test_typescript_client_reports_unavailable_when_nothing_listens(node: str) -> None:
    run = await run_client(node, "--address", dead_address(), "--timeout-ms", "20000")

    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.startswith("capabilities-client: unavailable: ")


async def test_typescript_client_sends_its_deadline_and_gives_up_at_it(node: str) -> None:
    # The provider answers long after the client's deadline, so only the deadline ends the call.
    provider = DeadlineRecordingProvider(features={"acme.sso": True}, delay_s=300.0)
    async with serve_capability_provider(provider=provider) as served:
        run = await run_client(node, "--address", served.address, "--timeout-ms", "300")

    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr.startswith("capabilities-client: deadline_exceeded: ")
    [deadline_s] = provider.deadlines_s
    assert deadline_s is not None
    assert deadline_s <= 0.3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--address: required"),
        (("--address", "127.0.0.1"), '--address: expected HOST:PORT, got "127.0.0.1"'),
        (
            ("--address", "http://127.0.0.1:50051"),
            '--address: expected HOST:PORT, got "http://127.0.0.1:50051"',
        ),
        (("--address", "127.0.0.1:50051", "--timeout-ms", "0"), "--timeout-ms: expected whole"),
        (("--address", "127.0.0.1:50051", "--timeout-ms", "5s"), 'got "5s"'),
        (("--address", "127.0.0.1:50051", "--deadline", "5"), "'--deadline'"),
    ],
)
async def test_typescript_client_rejects_a_bad_flag_by_name(
    node: str, args: tuple[str, ...], message: str
) -> None:
    run = await run_client(node, *args)

    assert run.returncode == 2
    assert run.stdout == ""
    assert message in run.stderr
    assert "usage: capabilities-client --address HOST:PORT" in run.stderr
