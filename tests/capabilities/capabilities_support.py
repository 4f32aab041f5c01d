"""Helpers for the capability tests: a fake extension provider, servers, a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import grpc

from extplane.capabilities.config import ExtensionProviderSettings
from extplane.capabilities.service import CapabilitiesService
from extplane.runtime.interceptors import server_interceptors
from extplane.runtime.rpc_metrics import Metrics
from extplane_client.testing import StaticCapabilityProvider
from extplane_protos.orloj.extensions.v1 import capabilities_pb2, capabilities_pb2_grpc

Request = capabilities_pb2.CapabilitiesRequest
Response = capabilities_pb2.CapabilitiesResponse


class ManualClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeProvider(StaticCapabilityProvider):
    """The public test double, plus what these tests steer: a `gate` to hold answers,
    an answer without a snapshot, and the deadline each call arrived with."""

    omit_snapshot: bool = False
    gate: asyncio.Event | None = None
    address: str = ""
    seen_remaining: list[float | None] = field(default_factory=list)

    async def Capabilities(  # noqa: N802 - the generated servicer names the RPC method
        self, request: Request, context: grpc.aio.ServicerContext[Request, Response]
    ) -> Response:
        self.seen_remaining.append(context.time_remaining())
        if self.gate is not None:
            await self.gate.wait()
        response = await super().Capabilities(request, context)
        return Response() if self.omit_snapshot else response

    def settings(self, name: str, timeout_s: float | None = None) -> ExtensionProviderSettings:
        return ExtensionProviderSettings(name=name, address=self.address, timeout_s=timeout_s)


async def start_server(
    register: Callable[[grpc.aio.Server], None],
    interceptors: Sequence[grpc.aio.ServerInterceptor] | None = None,
) -> tuple[grpc.aio.Server, str]:
    """Serves on a loopback port; by default behind the interceptor every extplane
    server runs."""
    if interceptors is None:
        interceptors = server_interceptors(Metrics())
    server = grpc.aio.server(interceptors=interceptors)
    register(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


StartProvider = Callable[..., Awaitable[FakeProvider]]
ServeCapabilities = Callable[..., Awaitable[tuple[CapabilitiesService, str]]]


async def fetch_snapshot(
    address: str, timeout_s: float = 5.0
) -> capabilities_pb2.CapabilitySnapshot:
    """One `Capabilities` RPC over a fresh real channel."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = capabilities_pb2_grpc.CapabilityProviderStub(channel)
        response = await stub.Capabilities(Request(), timeout=timeout_s)
    assert response.HasField("snapshot")
    return response.snapshot
