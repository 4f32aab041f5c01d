"""A typed async client for `extplane.admin.v1.InstallRegistryService`.

    async with InstallsClient("127.0.0.1:50054", token=admin_token) as client:
        install = await client.register_install(
            tenant="acme", install_id="inst-1", extension_id="com.example.tickets",
            version="1.2.0", granted_capabilities=["cap:storage.kv", "cap:log.emit"],
        )
        install = await client.update_install(
            tenant="acme", install_id="inst-1", revision=install.revision, version="1.3.0"
        )
        async for each in client.iter_installs(tenant="acme"):
            ...

Changes need a token with `installs.admin`; reads `installs.reader` or
`installs.admin`; `issue_install_token` needs `installs.issuer`. Answers are
the generated `Install` messages. A failed call raises `InstallsError`
carrying the gRPC status code (ABORTED for a stale revision) and, for
INVALID_ARGUMENT, the fields the service named.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Literal

from extplane_client._rpc import ChannelClient, choice
from extplane_client.errors import ExtplaneError
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb
from extplane_protos.extplane.admin.v1 import installs_pb2_grpc

Install = pb.Install
InstallLimits = pb.InstallLimits
UiProxyRoute = pb.UiProxyRoute
EnabledFilter = Literal["enabled", "disabled"]
_ENABLED: dict[str, pb.EnabledFilter.ValueType] = {
    "enabled": pb.ENABLED_FILTER_ENABLED,
    "disabled": pb.ENABLED_FILTER_DISABLED,
}


class InstallsError(ExtplaneError):
    """An install registry call failed; `code` says how (ABORTED, NOT_FOUND, ...)."""


@dataclass(frozen=True)
class InstallsPage:
    """One page; `next_page_token` is empty on the last."""

    installs: tuple[pb.Install, ...]
    next_page_token: str


def _routes(routes: Sequence[tuple[str, str] | pb.UiProxyRoute]) -> list[pb.UiProxyRoute]:
    return [
        r if isinstance(r, pb.UiProxyRoute) else pb.UiProxyRoute(route=r[0], upstream_url=r[1])
        for r in routes
    ]


class InstallsClient(ChannelClient):
    """Calls one install registry (the host service)."""

    error_type = InstallsError

    @functools.cached_property
    def _stub(self) -> installs_pb2_grpc.InstallRegistryServiceAsyncStub:
        return installs_pb2_grpc.InstallRegistryServiceStub(self._channel)

    async def register_install(
        self,
        *,
        tenant: str,
        install_id: str,
        extension_id: str,
        version: str,
        granted_capabilities: Sequence[str] = (),
        egress_allowlist: Sequence[str] = (),
        ui_proxy_routes: Sequence[tuple[str, str] | pb.UiProxyRoute] = (),
        limits: pb.InstallLimits | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.Install:
        """A new install, enabled, at revision 1, granted exactly `granted_capabilities`;
        `ui_proxy_routes` as (route, upstream URL) pairs or `UiProxyRoute`s."""
        request = pb.RegisterInstallRequest(
            tenant=tenant,
            install_id=install_id,
            extension_id=extension_id,
            version=version,
            granted_capabilities=granted_capabilities,
            egress_allowlist=egress_allowlist,
            ui_proxy_routes=_routes(ui_proxy_routes),
            limits=limits,
        )
        response = await self._unary(self._stub.RegisterInstall, request, timeout)
        return response.install

    async def update_install(
        self,
        *,
        tenant: str,
        install_id: str,
        revision: int,
        version: str | None = None,
        granted_capabilities: Sequence[str] | None = None,
        egress_allowlist: Sequence[str] | None = None,
        ui_proxy_routes: Sequence[tuple[str, str] | pb.UiProxyRoute] | None = None,
        limits: pb.InstallLimits | None = None,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.Install:
        """The install with what is given replaced (None keeps it), if it is still at
        `revision` (ABORTED otherwise)."""
        request = pb.UpdateInstallRequest(tenant=tenant, install_id=install_id, revision=revision)
        if version is not None:
            request.version = version
        if granted_capabilities is not None:
            request.granted_capabilities.SetInParent()
            request.granted_capabilities.capabilities.extend(granted_capabilities)
        if egress_allowlist is not None:
            request.egress_allowlist.SetInParent()
            request.egress_allowlist.entries.extend(egress_allowlist)
        if ui_proxy_routes is not None:
            request.ui_proxy_routes.SetInParent()
            request.ui_proxy_routes.routes.extend(_routes(ui_proxy_routes))
        if limits is not None:
            request.limits.CopyFrom(limits)
        response = await self._unary(self._stub.UpdateInstall, request, timeout)
        return response.install

    async def disable_install(
        self,
        *,
        tenant: str,
        install_id: str,
        revision: int = 0,
        reason: str = "",
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.Install:
        """The install, disabled (revision 0: whatever revision it is at)."""
        request = pb.DisableInstallRequest(
            tenant=tenant, install_id=install_id, revision=revision, reason=reason
        )
        response = await self._unary(self._stub.DisableInstall, request, timeout)
        return response.install

    async def enable_install(
        self,
        *,
        tenant: str,
        install_id: str,
        revision: int = 0,
        reason: str = "",
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.Install:
        """The install, enabled again (revision 0: whatever revision it is at)."""
        request = pb.EnableInstallRequest(
            tenant=tenant, install_id=install_id, revision=revision, reason=reason
        )
        response = await self._unary(self._stub.EnableInstall, request, timeout)
        return response.install

    async def issue_install_token(
        self,
        *,
        tenant: str,
        install_id: str,
        request_id: str = "",
        user: pb.InstallTokenUser | None = None,
        audience: str = "",
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.IssueInstallTokenResponse:
        """A short-lived install token (needs `installs.issuer`): send it to the
        host providers as `x-extplane-install-token`; `audience` empty: theirs."""
        request = pb.IssueInstallTokenRequest(
            tenant=tenant,
            install_id=install_id,
            request_id=request_id,
            user=user,
            audience=audience,
        )
        response: pb.IssueInstallTokenResponse = await self._unary(
            self._stub.IssueInstallToken, request, timeout
        )
        return response

    async def get_install_token_keys(
        self,
        *,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.GetInstallTokenKeysResponse:
        """The public keys install tokens verify with (no bearer token needed)."""
        response: pb.GetInstallTokenKeysResponse = await self._unary(
            self._stub.GetInstallTokenKeys, pb.GetInstallTokenKeysRequest(), timeout
        )
        return response

    async def get_install(
        self,
        *,
        tenant: str,
        install_id: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> pb.Install:
        request = pb.GetInstallRequest(tenant=tenant, install_id=install_id)
        response = await self._unary(self._stub.GetInstall, request, timeout)
        return response.install

    async def list_installs(
        self,
        *,
        tenant: str = "",
        extension_id: str = "",
        enabled: EnabledFilter | None = None,
        page_size: int = 0,
        page_token: str = "",
        timeout: float = 30.0,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> InstallsPage:
        """One page in registration order (page_size 0: 100; at most 1000). Pass
        `next_page_token` back with the same filters."""
        request = pb.ListInstallsRequest(
            tenant=tenant,
            extension_id=extension_id,
            enabled=(
                choice(_ENABLED, enabled, "enabled") if enabled else pb.ENABLED_FILTER_UNSPECIFIED
            ),
            page_size=page_size,
            page_token=page_token,
        )
        response = await self._unary(self._stub.ListInstalls, request, timeout)
        return InstallsPage(tuple(response.installs), response.next_page_token)

    async def iter_installs(
        self,
        *,
        tenant: str = "",
        extension_id: str = "",
        enabled: EnabledFilter | None = None,
        page_size: int = 1000,
        timeout: float = 30.0,  # noqa: ASYNC109 - the deadline of each page's call
    ) -> AsyncGenerator[pb.Install, None]:
        """Every install matching the filters, page after page."""
        token = ""
        while True:
            page = await self.list_installs(
                tenant=tenant,
                extension_id=extension_id,
                enabled=enabled,
                page_size=page_size,
                page_token=token,
                timeout=timeout,
            )
            for install in page.installs:
                yield install
            token = page.next_page_token
            if not token:
                return
