"""The gRPC face of the registry: `extplane.admin.v1.InstallRegistryService`.

Changes need a token with `installs.admin`; reads one with `installs.reader`
or `installs.admin` (GetInstall `installs.issuer` too: the runner), on the
gRPC path and through the gateway alike. The token's name is the actor of
the change's audit event. Install tokens are issued to `installs.issuer`
only; their public keys are served to anyone.
"""

from __future__ import annotations

from typing import Any

import grpc

from extplane.host.installs import validation
from extplane.host.installs.model import Install
from extplane.host.installs.registry import InstallRegistry
from extplane.host.installs.store import InstallsQuery
from extplane.host.installs.to_proto import install_proto
from extplane.host.installs.tokens import InstallTokens
from extplane.runtime import (
    INSTALLS_ADMIN,
    INSTALLS_ISSUER,
    INSTALLS_READER,
    ServiceKit,
    Serving,
    bounds,
    fill_page,
    page_size,
)
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb
from extplane_protos.extplane.admin.v1 import installs_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext[Any, Any]
INSTALLS_PAGE = "installs.list"
_READERS = (INSTALLS_READER, INSTALLS_ADMIN)
# GetInstall also answers the issuer: the runner reads the install it executes
# (extension and version) before it asks for a token of it.
_GETTERS = (*_READERS, INSTALLS_ISSUER)
_ENABLED = {pb.ENABLED_FILTER_ENABLED: True, pb.ENABLED_FILTER_DISABLED: False}


class InstallRegistryServicer(pb_grpc.InstallRegistryServiceServicer):
    def __init__(
        self, serving: Serving[InstallRegistry], kit: ServiceKit, tokens: InstallTokens
    ) -> None:
        self._serving = serving
        self._kit = kit
        self._tokens = tokens

    async def _admit(
        self, context: Context, role: str | tuple[str, ...]
    ) -> tuple[str, InstallRegistry]:
        actor = await self._kit.authorizer.require(context, role)
        return actor, self._serving.current

    async def RegisterInstall(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.RegisterInstallRequest, context: Context
    ) -> pb.RegisterInstallResponse:
        actor, registry = await self._admit(context, INSTALLS_ADMIN)
        bounds.check(request)
        settings = validation.registered(request)
        install = await registry.register(
            actor, request.tenant, request.install_id, request.extension_id, settings
        )
        return pb.RegisterInstallResponse(install=install_proto(install))

    async def UpdateInstall(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.UpdateInstallRequest, context: Context
    ) -> pb.UpdateInstallResponse:
        actor, registry = await self._admit(context, INSTALLS_ADMIN)
        bounds.check(request)
        validation.check_names(request.tenant, request.install_id)
        current = await registry.get(request.tenant, request.install_id)
        settings = validation.updated(request, current.settings)
        install = await registry.update(actor, current, request.revision, settings)
        return pb.UpdateInstallResponse(install=install_proto(install))

    async def _set_enabled(
        self,
        request: pb.DisableInstallRequest | pb.EnableInstallRequest,
        context: Context,
        enabled: bool,
    ) -> Install:
        actor, registry = await self._admit(context, INSTALLS_ADMIN)
        bounds.check(request)
        validation.check_names(request.tenant, request.install_id)
        current = await registry.get(request.tenant, request.install_id)
        return await registry.set_enabled(actor, current, enabled, request.revision, request.reason)

    async def DisableInstall(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.DisableInstallRequest, context: Context
    ) -> pb.DisableInstallResponse:
        install = await self._set_enabled(request, context, enabled=False)
        return pb.DisableInstallResponse(install=install_proto(install))

    async def EnableInstall(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.EnableInstallRequest, context: Context
    ) -> pb.EnableInstallResponse:
        install = await self._set_enabled(request, context, enabled=True)
        return pb.EnableInstallResponse(install=install_proto(install))

    async def GetInstall(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.GetInstallRequest, context: Context
    ) -> pb.GetInstallResponse:
        _, registry = await self._admit(context, _GETTERS)
        bounds.check(request)
        validation.check_names(request.tenant, request.install_id)
        install = await registry.get(request.tenant, request.install_id)
        return pb.GetInstallResponse(install=install_proto(install))

    async def ListInstalls(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.ListInstallsRequest, context: Context
    ) -> pb.ListInstallsResponse:
        _, registry = await self._admit(context, _READERS)
        bounds.check(request)
        size = page_size(request.page_size)
        scope: list[object] = [request.tenant, request.extension_id, int(request.enabled)]
        after = None
        if request.page_token:
            (after,) = self._kit.page_tokens.read(request.page_token, INSTALLS_PAGE, scope, 1)
        query = InstallsQuery(
            tenant=request.tenant,
            extension_id=request.extension_id,
            enabled=_ENABLED.get(request.enabled),
            after_seq=after,
            limit=size + 1,
        )
        page = fill_page(await registry.list(query), size, lambda row: install_proto(row.install))
        answer = pb.ListInstallsResponse(installs=page.messages)
        if page.last is not None:
            answer.next_page_token = self._kit.page_tokens.issue(
                INSTALLS_PAGE, scope, (page.last.seq,)
            )
        return answer

    async def IssueInstallToken(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.IssueInstallTokenRequest, context: Context
    ) -> pb.IssueInstallTokenResponse:
        _, registry = await self._admit(context, INSTALLS_ISSUER)
        bounds.check(request)
        validation.check_names(request.tenant, request.install_id)
        install = await registry.get(request.tenant, request.install_id)
        return self._tokens.issue(install, request)

    async def GetInstallTokenKeys(  # noqa: N802 - the generated servicer names the RPC method
        self, request: pb.GetInstallTokenKeysRequest, context: Context
    ) -> pb.GetInstallTokenKeysResponse:
        # Public keys: no bearer token needed, so a host anywhere can verify.
        self._serving.current  # noqa: B018 - UNAVAILABLE until started, like every RPC
        return self._tokens.keys()
