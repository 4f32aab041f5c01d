"""The ui-proxy part of the host service (`HostPart`): `UiProxyService` over the
install registry's routes, the secrets vault (for routes that name a secret),
an `UpstreamDialer` for HTTP upstreams and the runner for extension ones.

`dialer`: how HTTP upstreams are dialled. None: an `EgressDialer` of the
part's own (the egress guard, following no redirect, with the ui-proxy's
bounds and `ui_proxy_allowed_networks`); an injected dialer is its owner's
to close.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import grpc.aio

from extplane.host.config import HostSettings
from extplane.host.egress import EgressGuard, EgressLimits, tls_context
from extplane.host.installs.store import InstallStore
from extplane.host.parts import PartContext
from extplane.host.secrets.vault import SecretVault
from extplane.host.ui_proxy.audit import ProxyRefusals
from extplane.host.ui_proxy.dialer import UpstreamDialer
from extplane.host.ui_proxy.egress_dialer import EgressDialer
from extplane.host.ui_proxy.handlers import RunnerHandlers
from extplane.host.ui_proxy.servicer import UI_PROXY_SERVICE, UiProxyServicer
from extplane.host.ui_proxy.upstream import Upstreams
from extplane.runtime import ServiceKit, Serving
from extplane_client import AuditSink
from extplane_protos.alga.extension.v1 import ui_proxy_pb2_grpc


class UiProxyPart:
    def __init__(
        self,
        *,
        kit: ServiceKit,
        settings: HostSettings,
        installs: InstallStore,
        vault: Callable[[], SecretVault],
        dialer: UpstreamDialer | None = None,
    ) -> None:
        self._settings = settings
        self._installs = installs
        self._vault = vault
        self._dialer = dialer
        self._tls = kit.client_tls
        self.registry = kit.registry
        self.serving: Serving[Upstreams] = Serving("host")
        self._audit: AuditSink | None = None
        self._servicer = UiProxyServicer(
            self.serving,
            ProxyRefusals(lambda: self._audit, kit.clock_ns),
            kit.registry,
            timeout_s=settings.ui_proxy_timeout_s,
            max_request_bytes=settings.ui_proxy_max_request_bytes,
        )

    @property
    def service_names(self) -> Sequence[str]:
        return (UI_PROXY_SERVICE,)

    def add_to_server(self, server: grpc.aio.Server) -> None:
        ui_proxy_pb2_grpc.add_UiProxyServiceServicer_to_server(self._servicer, server)

    async def start(self, context: PartContext) -> None:
        if self.serving.is_open:
            return
        token = self._settings.runner_token
        self._audit = context.audit
        self.serving.open(
            Upstreams(
                installs=self._installs,
                vault=self._vault,
                dialer=self._dialer if self._dialer is not None else self._egress_dialer(),
                handlers=RunnerHandlers(
                    self._settings.runner_address,
                    token=None if token is None else token.get_secret_value(),
                    tls=self._tls,
                ),
                max_response_bytes=self._settings.ui_proxy_max_response_bytes,
            )
        )

    def _egress_dialer(self) -> EgressDialer:
        settings = self._settings
        limits = EgressLimits(
            connect_timeout_s=settings.egress.connect_timeout_s,
            total_timeout_s=settings.ui_proxy_timeout_s,
            max_request_bytes=settings.ui_proxy_max_request_bytes,
            max_response_bytes=settings.ui_proxy_max_response_bytes,
            max_redirects=0,
        )
        guard = EgressGuard(limits=limits, tls=tls_context(settings.egress.extra_ca_file))
        return EgressDialer(guard, settings.ui_proxy_allowed_networks)

    async def stop(self) -> None:
        upstreams = self.serving.close()
        if upstreams is None:
            return
        self._audit = None
        await upstreams.handlers.aclose()
        if self._dialer is None:
            await upstreams.dialer.aclose()
