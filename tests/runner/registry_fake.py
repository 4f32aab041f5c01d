"""An `extplane.admin.v1.ExtensionRegistryService` for the runner tests, on loopback.

It stands in for the real registry until that lands on the host: it holds the
versions and components a test puts in it, answers GetExtensionVersion and
GetComponent as the contract says (NOT_FOUND for what it lacks), and admits
only the runner's token (`installs.issuer`), so the runner's credentials are
exercised over the wire. To use the real one instead, upload the versions
through it and point `RunnerSettings.registry_address` at the host (its
default): nothing else in the tests depends on this class.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc

from extplane_protos.extplane.admin.v1 import extensions_pb2 as pb
from extplane_protos.extplane.admin.v1 import extensions_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[Any, Any]


@dataclass
class FakeExtensionRegistry(pb_grpc.ExtensionRegistryServiceServicer):
    token: str
    versions: dict[tuple[str, str], pb.ExtensionVersion] = field(default_factory=dict)
    components: dict[str, bytes] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)

    def add_grpc(
        self, extension_id: str, version: str, address: str, **limits: int
    ) -> pb.ExtensionVersion:
        stored = pb.ExtensionVersion(
            extension_id=extension_id,
            version=version,
            grpc_address=address,
            limits=pb.ExecutionLimitsSpec(**limits),
        )
        self.versions[extension_id, version] = stored
        return stored

    def add_component(
        self, extension_id: str, version: str, component: bytes, **limits: int
    ) -> pb.ExtensionVersion:
        sha256 = hashlib.sha256(component).hexdigest()
        self.components[sha256] = component
        stored = pb.ExtensionVersion(
            extension_id=extension_id,
            version=version,
            component=pb.ComponentRef(sha256=sha256, size_bytes=len(component)),
            limits=pb.ExecutionLimitsSpec(**limits),
        )
        self.versions[extension_id, version] = stored
        return stored

    async def _admit(self, context: Context) -> None:
        metadata = dict(context.invocation_metadata() or ())
        if metadata.get("authorization") != f"Bearer {self.token}":
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "unknown bearer token")

    async def GetExtensionVersion(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.GetExtensionVersionRequest, context: Context
    ) -> pb.GetExtensionVersionResponse:
        self.calls["GetExtensionVersion"] += 1
        await self._admit(context)
        stored = self.versions.get((request.extension_id, request.version))
        if stored is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such version")
        return pb.GetExtensionVersionResponse(extension_version=stored)

    async def GetComponent(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.GetComponentRequest, context: Context
    ) -> pb.GetComponentResponse:
        self.calls["GetComponent"] += 1
        await self._admit(context)
        component = self.components.get(request.sha256)
        if component is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such component")
        return pb.GetComponentResponse(component=component)


@asynccontextmanager
async def serve_registry(registry: FakeExtensionRegistry) -> AsyncIterator[str]:
    server = grpc.aio.server()
    pb_grpc.add_ExtensionRegistryServiceServicer_to_server(registry, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)
