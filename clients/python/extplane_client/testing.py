"""Test doubles for code that calls extplane: real servers on loopback, not mocks.

async with serve_capability_provider(features={"billing": True}) as served:
    client = CapabilitiesClient(served.address)   # or register served.address
    ...                                            # as an extension provider
    assert served.provider.calls == 1
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import grpc

from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

__all__ = ["ServedProvider", "StaticCapabilityProvider", "serve_capability_provider"]

_Request = capabilities_pb2.CapabilitiesRequest
_Response = capabilities_pb2.CapabilitiesResponse


@dataclass
class StaticCapabilityProvider(capabilities_pb2_grpc.CapabilityProviderServicer):
    """A `CapabilityProvider` answering a fixed snapshot, optionally after `delay_s`.

    `features` and `metadata` may be changed between calls; `calls` counts RPCs and
    `called` is set when the first one arrives (before any delay).
    """

    features: Mapping[str, bool] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    calls: int = 0
    called: asyncio.Event = field(default_factory=asyncio.Event)

    async def Capabilities(  # noqa: N802 - the generated servicer names the RPC method
        self, request: _Request, context: grpc.aio.ServicerContext[_Request, _Response]
    ) -> _Response:
        self.calls += 1
        self.called.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return self.response()

    def response(self) -> _Response:
        snapshot = capabilities_pb2.CapabilitySnapshot(
            features=dict(self.features), metadata=dict(self.metadata)
        )
        return _Response(snapshot=snapshot)


@dataclass(frozen=True)
class ServedProvider:
    provider: StaticCapabilityProvider
    address: str


@asynccontextmanager
async def serve_capability_provider(
    features: Mapping[str, bool] | None = None,
    metadata: Mapping[str, str] | None = None,
    *,
    delay_s: float = 0.0,
    provider: StaticCapabilityProvider | None = None,
) -> AsyncIterator[ServedProvider]:
    """Serve a provider over real gRPC on 127.0.0.1 (an ephemeral port) while in the block."""
    if provider is None:
        provider = StaticCapabilityProvider(
            features=dict(features or {}), metadata=dict(metadata or {}), delay_s=delay_s
        )
    server = grpc.aio.server()
    capabilities_pb2_grpc.add_CapabilityProviderServicer_to_server(provider, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield ServedProvider(provider=provider, address=f"127.0.0.1:{port}")
    finally:
        await server.stop(grace=None)
