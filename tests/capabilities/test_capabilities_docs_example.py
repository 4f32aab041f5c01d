"""The extension provider example in docs/capabilities.md works as documented."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
from capabilities_support import ServeCapabilities, fetch_snapshot, start_server

from extplane.capabilities.config import CapabilitiesSettings, ExtensionProviderSettings
from extplane_protos.orloj.extensions.v1 import capabilities_pb2_grpc

DOC = Path(__file__).resolve().parents[2] / "docs" / "capabilities.md"


def load_example() -> dict[str, object]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    [example] = [block for block in blocks if "class AcmeCapabilities" in block]
    namespace: dict[str, object] = {"__name__": "acme_capabilities"}
    exec(compile(example, str(DOC), "exec"), namespace)
    return namespace


async def test_the_documented_provider_adds_its_keys(
    servers: list[grpc.aio.Server], serve_capabilities: ServeCapabilities
) -> None:
    servicer = load_example()["AcmeCapabilities"]()  # type: ignore[operator]

    def register(server: grpc.aio.Server) -> None:
        capabilities_pb2_grpc.add_CapabilityProviderServicer_to_server(servicer, server)

    server, provider_address = await start_server(register)
    servers.append(server)
    settings = CapabilitiesSettings(
        providers=[ExtensionProviderSettings(name="acme", address=provider_address)]
    )
    _, address = await serve_capabilities(settings)

    snapshot = await fetch_snapshot(address)

    assert snapshot.features["acme.invoicing"] is True
    assert snapshot.metadata["acme.region"] == "eu-west"
    assert "extplane.providers.degraded" not in snapshot.metadata
