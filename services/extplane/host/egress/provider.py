"""`alga.extension.v1.HttpService`: `http.fetch` through the egress guard.

The allowlist is the calling install's own, read from the install registry on
every call (`current_install()` names it; the request never does), so a
changed allowlist applies to the next fetch. The interceptor has already
refused a token without `cap:http.fetch`. An `EgressError` becomes the
`HttpError` variant of its kind; anything else is logged and answered
HTTP_ERROR_INTERNAL, naming nothing of the request.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc.aio

from extplane.host.alga_error import AlgaVariantError
from extplane.host.egress.allowlist import Allowlist, EntryError
from extplane.host.egress.audit import EgressRefusals
from extplane.host.egress.errors import EgressError, EgressErrorKind
from extplane.host.egress.guard import EgressGuard
from extplane.host.egress.messages import OutboundRequest
from extplane.host.egress.metrics import EgressMetrics
from extplane.host.enforcement import current_install
from extplane.host.installs.store import InstallStore
from extplane.runtime import Serving
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import http_pb2, http_pb2_grpc, types_pb2

_Context = grpc.aio.ServicerContext[Any, Any]
HTTP_SERVICE: str = http_pb2.DESCRIPTOR.services_by_name["HttpService"].full_name

_VARIANTS: dict[EgressErrorKind, alga_errors.Variant] = {
    "invalid-url": alga_errors.variant(types_pb2.HttpError, types_pb2.HTTP_ERROR_INVALID_URL),
    "not-allowed": alga_errors.variant(types_pb2.HttpError, types_pb2.HTTP_ERROR_NOT_ALLOWED),
    "transport": alga_errors.variant(types_pb2.HttpError, types_pb2.HTTP_ERROR_TRANSPORT),
    "internal": alga_errors.variant(types_pb2.HttpError, types_pb2.HTTP_ERROR_INTERNAL),
}

_logger = logging.getLogger(__name__)


def variant_error(error: EgressError) -> AlgaVariantError:
    return AlgaVariantError(_VARIANTS[error.kind], error.detail)


class HttpServicer(http_pb2_grpc.HttpServiceServicer):
    def __init__(
        self,
        installs: InstallStore,
        guard: Serving[EgressGuard],
        metrics: EgressMetrics,
        refusals: EgressRefusals,
    ) -> None:
        self._installs = installs
        self._guard = guard
        self._metrics = metrics
        self._refusals = refusals

    async def Fetch(  # noqa: N802 - the generated servicer's name
        self, request: http_pb2.HttpServiceFetchRequest, context: _Context
    ) -> http_pb2.HttpServiceFetchResponse:
        claims = current_install()
        guard = self._guard.current
        try:
            outbound = _outbound(request)
            answer = await guard.send(
                outbound, await self._allowlist(claims.tenant_id, claims.install_id)
            )
        except EgressError as error:
            self._metrics.count(
                claims.tenant_id, claims.install_id, error.kind, error.sent, error.received
            )
            if error.is_refusal:
                self._metrics.refusals.labels(claims.tenant_id, claims.install_id, error.kind).inc()
                self._refusals.record(claims, error)
            raise variant_error(error) from None
        except Exception:
            _logger.exception("http.fetch failed inside the host")
            self._metrics.count(claims.tenant_id, claims.install_id, "internal", 0, 0)
            raise AlgaVariantError(_VARIANTS["internal"], "the host failed") from None
        self._metrics.count(claims.tenant_id, claims.install_id, "ok", answer.sent, answer.received)
        response = types_pb2.HttpResponse(
            status=answer.status,
            headers=[types_pb2.HttpHeader(name=n, value=v) for n, v in answer.headers],
        )
        if answer.body is not None:
            response.body = answer.body
        return http_pb2.HttpServiceFetchResponse(response=response)

    async def _allowlist(self, tenant: str, install_id: str) -> Allowlist:
        install = await self._installs.get(tenant, install_id)
        if install is None:
            return Allowlist()  # a verified token of an install no longer held: deny
        try:
            return Allowlist.parse(install.settings.egress_allowlist)
        except EntryError as error:
            # The registry validates entries with the same parser: a stored one that
            # fails is a bug or a hand-edited database, not the guest's doing.
            _logger.error("install %s/%s: stored egress allowlist: %s", tenant, install_id, error)
            raise EgressError("internal", "the install's egress allowlist is unreadable") from None


def _outbound(request: http_pb2.HttpServiceFetchRequest) -> OutboundRequest:
    if not request.HasField("request"):
        raise EgressError("invalid-url", "request: required")
    r = request.request
    if not r.url:
        raise EgressError("invalid-url", "request.url: required")
    return OutboundRequest(
        method=r.method or "GET",
        url=r.url,
        headers=[(h.name, h.value) for h in r.headers],
        body=r.body if r.HasField("body") else None,
    )
