"""`alga.extension.v1.UiProxyService`: a call to one of the calling install's routes.

The install comes from the verified token (`current_install()`), so only its
own routes (from the install registry) can be selected. The route is checked
(`paths`), selected (`routing`), sent with the identity headers and the
route's secret when it names one (`upstream`), and the upstream's answer
mapped to the payload or a ProxyError variant (`answers`). A refused call
(`route-not-found`, `bad-request` before anything is sent) is an audit event;
every call is counted by install and outcome.
"""

from __future__ import annotations

from typing import Any

import grpc.aio
from prometheus_client import CollectorRegistry

from extplane.host.alga_error import AlgaVariantError
from extplane.host.claims import InstallClaims
from extplane.host.enforcement import current_install
from extplane.host.ui_proxy.answers import bad_request, route_not_found
from extplane.host.ui_proxy.audit import ProxyRefusals
from extplane.host.ui_proxy.metrics import proxy_calls
from extplane.host.ui_proxy.paths import BadRouteError, parse_route
from extplane.host.ui_proxy.routing import select
from extplane.host.ui_proxy.upstream import Upstreams
from extplane.runtime import Serving
from extplane.runtime.channels import remaining_timeout
from extplane_protos.alga.extension.v1 import ui_proxy_pb2, ui_proxy_pb2_grpc

_Context = grpc.aio.ServicerContext[Any, Any]
UI_PROXY_SERVICE: str = ui_proxy_pb2.DESCRIPTOR.services_by_name["UiProxyService"].full_name


class UiProxyServicer(ui_proxy_pb2_grpc.UiProxyServiceServicer):
    def __init__(
        self,
        upstreams: Serving[Upstreams],
        refusals: ProxyRefusals,
        registry: CollectorRegistry,
        *,
        timeout_s: float,
        max_request_bytes: int,
    ) -> None:
        self._upstreams = upstreams
        self._refusals = refusals
        self._calls = proxy_calls(registry)
        self._timeout_s = timeout_s
        self._max_request_bytes = max_request_bytes

    async def Call(  # noqa: N802 - the generated servicer's name
        self, request: ui_proxy_pb2.UiProxyServiceCallRequest, context: _Context
    ) -> ui_proxy_pb2.UiProxyServiceCallResponse:
        claims = current_install()
        try:
            payload = await self._call(claims, request, context)
        except AlgaVariantError as error:
            self._calls.labels(claims.tenant_id, claims.install_id, error.variant.name).inc()
            raise
        self._calls.labels(claims.tenant_id, claims.install_id, "ok").inc()
        return ui_proxy_pb2.UiProxyServiceCallResponse(payload=payload)

    def _refused(self, claims: InstallClaims, route: str, error: AlgaVariantError) -> None:
        self._refusals.record(claims, error.variant.name, route, str(error))

    async def _call(
        self,
        claims: InstallClaims,
        request: ui_proxy_pb2.UiProxyServiceCallRequest,
        context: _Context,
    ) -> bytes:
        body = request.payload if request.HasField("payload") else None
        try:
            called = parse_route(request.route)
            if body is not None and len(body) > self._max_request_bytes:
                raise BadRouteError(f"payload is longer than {self._max_request_bytes} bytes")
        except BadRouteError as why:
            refusal = bad_request(str(why))
            self._refused(claims, request.route, refusal)
            raise refusal from None
        upstreams = self._upstreams.current
        install = await upstreams.installs.get(claims.tenant_id, claims.install_id)
        selected = None if install is None else select(install.settings.ui_proxy_routes, called)
        if selected is None:
            refusal = route_not_found("no proxy route of this install matches route")
            self._refused(claims, request.route, refusal)
            raise refusal
        return await upstreams.forward(
            claims, selected, body, timeout_s=remaining_timeout(context, self._timeout_s)
        )
