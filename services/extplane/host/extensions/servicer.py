"""The gRPC face of the extension registry: `extplane.admin.v1.ExtensionRegistryService`.

Uploads need a token with `installs.admin`; reads `installs.reader`,
`installs.admin` or `installs.issuer` (the runner looks a version up for each
install it runs); `GetComponent`, the bytes themselves, `installs.issuer` or
`installs.admin`. The token's name is the actor of the upload's audit event.
"""

from __future__ import annotations

import re
from typing import Any

import grpc

from extplane.host.extensions import validation
from extplane.host.extensions.registry import ExtensionRegistry, Handler
from extplane.host.extensions.store import VersionsQuery
from extplane.host.extensions.to_proto import version_proto
from extplane.runner.component_check import MAX_COMPONENT_BYTES
from extplane.runtime import (
    INSTALLS_ADMIN,
    INSTALLS_ISSUER,
    INSTALLS_READER,
    InvalidRequestError,
    ServiceKit,
    Serving,
    bounds,
    fill_page,
    page_size,
)
from extplane_protos.extplane.admin.v1 import extensions_pb2 as pb
from extplane_protos.extplane.admin.v1 import extensions_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[Any, Any]
EXTENSION_REGISTRY: str = pb.DESCRIPTOR.services_by_name["ExtensionRegistryService"].full_name
VERSIONS_PAGE = "extensions.list"
_READERS = (INSTALLS_READER, INSTALLS_ADMIN, INSTALLS_ISSUER)
_FETCHERS = (INSTALLS_ISSUER, INSTALLS_ADMIN)
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ExtensionRegistryServicer(pb_grpc.ExtensionRegistryServiceServicer):
    def __init__(self, serving: Serving[ExtensionRegistry], kit: ServiceKit) -> None:
        self._serving = serving
        self._kit = kit

    async def _admit(
        self, context: Context, role: str | tuple[str, ...]
    ) -> tuple[str, ExtensionRegistry]:
        actor = await self._kit.authorizer.require(context, role)
        return actor, self._serving.current

    async def UploadExtensionVersion(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.UploadExtensionVersionRequest, context: Context
    ) -> pb.UploadExtensionVersionResponse:
        actor, registry = await self._admit(context, INSTALLS_ADMIN)
        bounds.check(request)
        capabilities, limits = validation.uploaded(request)
        if request.WhichOneof("handler") == "component":
            if len(request.component) > MAX_COMPONENT_BYTES:
                raise InvalidRequestError.field(
                    "component",
                    f"is {len(request.component)} bytes; at most {MAX_COMPONENT_BYTES} bytes",
                )
            handler = Handler(content=request.component)
        else:
            handler = Handler(grpc_address=request.grpc_address)
        stored = await registry.upload(
            actor, request.extension_id, request.version, capabilities, limits, handler
        )
        return pb.UploadExtensionVersionResponse(extension_version=version_proto(stored))

    async def GetExtensionVersion(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.GetExtensionVersionRequest, context: Context
    ) -> pb.GetExtensionVersionResponse:
        _, registry = await self._admit(context, _READERS)
        bounds.check(request)
        validation.check_names(request.extension_id, request.version)
        found = await registry.get(request.extension_id, request.version)
        return pb.GetExtensionVersionResponse(extension_version=version_proto(found))

    async def ListExtensionVersions(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.ListExtensionVersionsRequest, context: Context
    ) -> pb.ListExtensionVersionsResponse:
        _, registry = await self._admit(context, _READERS)
        bounds.check(request)
        if request.extension_id:
            validation.check_extension_id(request.extension_id)
        size = page_size(request.page_size)
        scope: list[object] = [request.extension_id]
        after = None
        if request.page_token:
            (after,) = self._kit.page_tokens.read(request.page_token, VERSIONS_PAGE, scope, 1)
        query = VersionsQuery(extension_id=request.extension_id, after_seq=after, limit=size + 1)
        page = fill_page(await registry.list(query), size, lambda row: version_proto(row.version))
        answer = pb.ListExtensionVersionsResponse(extension_versions=page.messages)
        if page.last is not None:
            answer.next_page_token = self._kit.page_tokens.issue(
                VERSIONS_PAGE, scope, (page.last.seq,)
            )
        return answer

    async def GetComponent(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.GetComponentRequest, context: Context
    ) -> pb.GetComponentResponse:
        _, registry = await self._admit(context, _FETCHERS)
        bounds.check(request)
        if not _SHA256.fullmatch(request.sha256):
            raise InvalidRequestError.field("sha256", "must be 64 lower-case hex digits")
        return pb.GetComponentResponse(component=await registry.component(request.sha256))
