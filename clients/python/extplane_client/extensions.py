"""A typed async client for `extplane.admin.v1.ExtensionRegistryService`.

    async with ExtensionsClient("127.0.0.1:50054", token=admin_token) as client:
        stored = await client.upload_extension_version(
            extension_id="com.example.tickets", version="1.2.0",
            component=Path("tickets.wasm").read_bytes(),
            declared_capabilities=["cap:storage.kv"],
        )
        async for each in client.iter_extension_versions(extension_id="com.example.tickets"):
            ...

Uploads need a token with `installs.admin`; reads `installs.reader`,
`installs.admin` or `installs.issuer`; `get_component` `installs.issuer` or
`installs.admin`. A channel the client opens takes components of up to
64 MiB (`COMPONENT_CHANNEL_OPTIONS`; pass them to a channel of your own). A
failed call raises `ExtensionsError` carrying the gRPC status code
(ALREADY_EXISTS for a version uploaded with other content) and, for
INVALID_ARGUMENT, the fields the service named.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from extplane_client._rpc import ChannelClient
from extplane_client.errors import ExtplaneError
from extplane_protos.extplane.admin.v1 import extensions_pb2 as pb
from extplane_protos.extplane.admin.v1 import extensions_pb2_grpc

ExtensionVersion = pb.ExtensionVersion
ExecutionLimitsSpec = pb.ExecutionLimitsSpec
MAX_COMPONENT_BYTES = 64 * 1024 * 1024
# A component and the rest of its message, in either direction.
COMPONENT_CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.max_receive_message_length", MAX_COMPONENT_BYTES + 1024 * 1024),
    ("grpc.max_send_message_length", MAX_COMPONENT_BYTES + 1024 * 1024),
)


class ExtensionsError(ExtplaneError):
    """An extension registry call failed; `code` says how (ALREADY_EXISTS, NOT_FOUND, ...)."""


@dataclass(frozen=True)
class ExtensionVersionsPage:
    """One page; `next_page_token` is empty on the last."""

    extension_versions: tuple[pb.ExtensionVersion, ...]
    next_page_token: str


class ExtensionsClient(ChannelClient):
    """Calls one extension registry (the host service)."""

    error_type = ExtensionsError
    channel_options = COMPONENT_CHANNEL_OPTIONS

    @functools.cached_property
    def _stub(self) -> extensions_pb2_grpc.ExtensionRegistryServiceAsyncStub:
        return extensions_pb2_grpc.ExtensionRegistryServiceStub(self._channel)

    async def upload_extension_version(
        self,
        *,
        extension_id: str,
        version: str,
        component: bytes | None = None,
        grpc_address: str | None = None,
        declared_capabilities: Sequence[str] = (),
        limits: pb.ExecutionLimitsSpec | None = None,
        timeout: float = 300.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.ExtensionVersion:
        """Store a version: exactly one of `component` (its bytes) and
        `grpc_address` (host:port of a HandlerService). The registry checks a
        component (it compiles it: seconds for a large one, hence the long
        default deadline). The same upload again answers the stored version."""
        if (component is None) == (grpc_address is None):
            raise ValueError("give exactly one of component and grpc_address")
        request = pb.UploadExtensionVersionRequest(
            extension_id=extension_id,
            version=version,
            declared_capabilities=declared_capabilities,
            limits=limits,
        )
        if component is not None:
            request.component = component
        else:
            request.grpc_address = grpc_address or ""
        response = await self._unary(self._stub.UploadExtensionVersion, request, timeout)
        return response.extension_version

    async def get_extension_version(
        self,
        *,
        extension_id: str,
        version: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.ExtensionVersion:
        request = pb.GetExtensionVersionRequest(extension_id=extension_id, version=version)
        response = await self._unary(self._stub.GetExtensionVersion, request, timeout)
        return response.extension_version

    async def list_extension_versions(
        self,
        *,
        extension_id: str = "",
        page_size: int = 0,
        page_token: str = "",
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> ExtensionVersionsPage:
        """One page in upload order (page_size 0: 100; at most 1000). Pass
        `next_page_token` back with the same `extension_id`."""
        request = pb.ListExtensionVersionsRequest(
            extension_id=extension_id, page_size=page_size, page_token=page_token
        )
        response = await self._unary(self._stub.ListExtensionVersions, request, timeout)
        return ExtensionVersionsPage(tuple(response.extension_versions), response.next_page_token)

    async def iter_extension_versions(
        self,
        *,
        extension_id: str = "",
        page_size: int = 1000,
        timeout: float = 30.0,  # noqa: ASYNC109 - the deadline of each page's call
    ) -> AsyncGenerator[pb.ExtensionVersion, None]:
        """Every version (of `extension_id`, when given), page after page."""
        token = ""
        while True:
            page = await self.list_extension_versions(
                extension_id=extension_id, page_size=page_size, page_token=token, timeout=timeout
            )
            for version in page.extension_versions:
                yield version
            token = page.next_page_token
            if not token:
                return

    async def get_component(
        self,
        *,
        sha256: str,
        timeout: float = 120.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> bytes:
        """The component's bytes, checked against `sha256` (DATA_LOSS otherwise)."""
        request = pb.GetComponentRequest(sha256=sha256)
        response = await self._unary(self._stub.GetComponent, request, timeout)
        content = bytes(response.component)
        if hashlib.sha256(content).hexdigest() != sha256:
            raise ExtensionsError(
                grpc.StatusCode.DATA_LOSS, f"the component answered for {sha256} has another hash"
            )
        return content
