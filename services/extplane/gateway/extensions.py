"""`/v1/extensions/{install_id}/{path=**}`, any method: an HTTP request to an
extension, executed by the runner (`alga.extension.v1.HandlerService.Execute`).

The request becomes an `ExecuteRequest`: its method, the path below the
install (with the query), its headers but the hop-by-hop ones, credentials
and `x-extplane-*` (a client cannot speak for the platform), and its body
(bounded like every gateway body). The caller's `Authorization` and
`Idempotency-Key` go to the runner as metadata; the runner decides the
tenant from the token. The answer is the guest's own: its status, the
response headers of `RESPONSE_HEADERS` and its body, not a JSON envelope.
Errors (refusals, traps, limits, a busy runner: 429 with `Retry-After`) are
the gateway's usual `google.rpc.Status` bodies.

The guest's body is served from the gateway's origin, where the console
lives, so every answer is sandboxed (`Content-Security-Policy: sandbox …`:
a page of an extension runs in an origin of its own and cannot read the
console's) and never MIME-sniffed.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any

import grpc
from opentelemetry import propagate, trace
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from extplane.gateway.answered import answered
from extplane.gateway.channels import UpstreamChannels
from extplane.gateway.config import GatewaySettings
from extplane.gateway.deadline import call_timeout_s
from extplane.gateway.errors import RequestError, invalid_argument, request_error_from_rpc
from extplane.gateway.forwarding import REQUEST_ID_HEADER, request_id_from
from extplane.gateway.metrics import GatewayMetrics
from extplane.gateway.openapi import BEARER_SCHEME
from extplane.gateway.proxy import read_body
from extplane.gateway.types import UpstreamResolver
from extplane_protos.alga.extension.v1 import handler_pb2, types_pb2

HANDLER_SERVICE = handler_pb2.DESCRIPTOR.services_by_name["HandlerService"].full_name
EXECUTE_PATH = f"/{HANDLER_SERVICE}/Execute"
PREFIX = "/v1/extensions/"
ROUTE = "/v1/extensions/{install_id}/{path=**}"
IDEMPOTENCY_HEADER = "idempotency-key"
RUNNER_REQUEST_ID = "x-extplane-request-id"
REPLAYED = "idempotent-replayed"
OPENAPI_TAG = "Extensions"

# RFC 9110 section 7.6.1, plus what a proxy must not pass on either way.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# What the guest may not see: the caller's credentials (the runner checked them),
# what the gateway passes as metadata, and headers that would speak for the platform.
_WITHHELD = frozenset({"authorization", IDEMPOTENCY_HEADER})
_WITHHELD_PREFIXES = ("x-extplane-", "grpc-")
# The guest's response headers a client gets; anything else (Set-Cookie on the
# gateway's domain, CORS, HSTS, ...) is the gateway's to decide, not an extension's.
RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "content-language",
        "content-disposition",
        "content-encoding",
        "cache-control",
        "etag",
        "last-modified",
        "expires",
        "location",
        "vary",
        "link",
        "retry-after",
        "allow",
    }
)
SANDBOX = {
    "content-security-policy": "sandbox allow-scripts allow-forms allow-popups",
    "x-content-type-options": "nosniff",
}
_INSTALL_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")

logger = logging.getLogger(__name__)


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path


def _split(raw_path: str) -> tuple[str, str]:
    """(install id, the path below it, starting with `/`)."""
    rest = raw_path[len(PREFIX) :]
    install_id, slash, below = rest.partition("/")
    if not _INSTALL_ID.fullmatch(install_id):
        raise invalid_argument("must be 1-128 of A-Z a-z 0-9 . _ -", field="install_id")
    return install_id, slash + below if slash else "/"


def forwarded_headers(pairs: Iterable[tuple[str, str]]) -> list[types_pb2.HttpHeader]:
    """The request headers a guest sees; `pairs` are (lower-case name, value)."""
    pairs = list(pairs)
    named_by_connection = {
        token.strip().lower()
        for name, value in pairs
        if name == "connection"
        for token in value.split(",")
    }
    return [
        types_pb2.HttpHeader(name=name, value=value)
        for name, value in pairs
        if name not in HOP_BY_HOP
        and name not in named_by_connection
        and name not in _WITHHELD
        and not name.startswith(_WITHHELD_PREFIXES)
    ]


def _guest_headers(response: handler_pb2.ExecuteResponse) -> list[tuple[str, str]]:
    kept = []
    for header in response.headers:
        name = header.name.lower()
        if name in RESPONSE_HEADERS and _HEADER_VALUE.fullmatch(header.value):
            kept.append((name, header.value))
    return kept


class ExtensionRoute:
    """The ASGI endpoint of the extension route."""

    def __init__(
        self,
        settings: GatewaySettings,
        upstream_for: UpstreamResolver,
        channels: UpstreamChannels,
        *,
        tracer: trace.Tracer,
        metrics: GatewayMetrics,
    ) -> None:
        self._settings = settings
        self._upstream_for = upstream_for
        self._channels = channels
        self._tracer = tracer
        self._metrics = metrics

    def routes(self) -> list[Route]:
        # An ASGI endpoint with no method list: every method reaches the extension.
        return [
            Route("/v1/extensions/{install_id}", self),
            Route("/v1/extensions/{install_id}/{path:path}", self),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)

    async def endpoint(self, request: Request) -> Response:
        started = time.perf_counter()
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        echo = {REQUEST_ID_HEADER: request_id}
        response = await answered(
            request,
            lambda: self._traced(request, request_id, echo),
            realm=self._settings.auth_realm,
            echo=echo,
        )
        self._metrics.observe(
            ROUTE, request.method, response.status_code, time.perf_counter() - started
        )
        return response

    async def _traced(self, request: Request, request_id: str, echo: dict[str, str]) -> Response:
        with self._tracer.start_as_current_span(
            f"{request.method} {ROUTE}",
            context=propagate.extract(request.headers),
            kind=trace.SpanKind.SERVER,
            attributes={
                "http.request.method": request.method,
                "http.route": ROUTE,
                "rpc.system": "grpc",
                "rpc.service": HANDLER_SERVICE,
                "rpc.method": "Execute",
                "extplane.request_id": request_id,
            },
        ) as span:
            response = await self._forward(request, request_id, echo)
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    async def _forward(self, request: Request, request_id: str, echo: dict[str, str]) -> Response:
        raw_path = _raw_path(request)
        install_id, below = _split(raw_path)
        query = request.scope.get("query_string", b"").decode("latin-1")
        body = await read_body(request, self._settings.max_request_body_bytes)
        pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in request.headers.raw]
        http = types_pb2.HttpRequest(
            method=request.method,
            url=below + (f"?{query}" if query else ""),
            headers=forwarded_headers(pairs),
        )
        if body or "content-length" in request.headers or "transfer-encoding" in request.headers:
            http.body = body
        execute = handler_pb2.ExecuteRequest(
            context=types_pb2.ContextData(install_id=install_id), http=http
        )
        metadata: list[tuple[str, str]] = [(REQUEST_ID_HEADER, request_id)]
        for header in ("authorization", IDEMPOTENCY_HEADER):
            value = request.headers.get(header)
            if value is not None:
                if not _HEADER_VALUE.fullmatch(value):
                    raise invalid_argument(f'header "{header}": only printable ASCII')
                metadata.append((header, value))
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        metadata.extend(carrier.items())
        timeout = call_timeout_s(request.headers, self._settings.extension_timeout_s)
        answer, initial = await self._call(execute, metadata, timeout)
        return self._response(answer, initial, echo)

    async def _call(
        self,
        execute: handler_pb2.ExecuteRequest,
        metadata: list[tuple[str, str]],
        deadline_s: float,
    ) -> tuple[handler_pb2.ExecuteResponse, dict[str, str]]:
        try:
            address = self._upstream_for(HANDLER_SERVICE)
        except (LookupError, ValueError):
            logger.error("no upstream address for %s", HANDLER_SERVICE)
            raise RequestError(
                grpc.StatusCode.UNAVAILABLE, f"upstream {HANDLER_SERVICE} unavailable"
            ) from None
        rpc = self._channels.get(address).unary_unary(
            EXECUTE_PATH,
            request_serializer=handler_pb2.ExecuteRequest.SerializeToString,
            response_deserializer=handler_pb2.ExecuteResponse.FromString,
        )
        call = rpc(execute, timeout=deadline_s, metadata=tuple(metadata))
        try:
            answer: handler_pb2.ExecuteResponse = await call
            initial = await call.initial_metadata()
        except grpc.aio.AioRpcError as error:
            raise request_error_from_rpc(error, HANDLER_SERVICE) from None
        return answer, {k: v for k, v in (initial or ()) if isinstance(v, str)}

    def _response(
        self,
        answer: handler_pb2.ExecuteResponse,
        initial: dict[str, str],
        echo: dict[str, str],
    ) -> Response:
        if not 100 <= answer.status <= 599:
            raise RequestError(
                grpc.StatusCode.INTERNAL,
                f"the extension answered HTTP status {answer.status}, which is not one",
                http_status=502,
            )
        headers: list[tuple[str, str]] = _guest_headers(answer)
        headers.extend(SANDBOX.items())
        headers.extend(echo.items())
        if RUNNER_REQUEST_ID in initial:
            headers.append((RUNNER_REQUEST_ID, initial[RUNNER_REQUEST_ID]))
        if initial.get(REPLAYED) == "true":
            headers.append((REPLAYED, "true"))
        response = Response(answer.body if answer.HasField("body") else b"", answer.status)
        # Response() set content-length (and maybe content-type); the guest's
        # own headers replace everything but the length.
        length = [(k, v) for k, v in response.raw_headers if k == b"content-length"]
        response.raw_headers = [
            *length,
            *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers),
        ]
        return response


def _operation(method: str) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/google.rpc.Status"}
    operation: dict[str, Any] = {
        "operationId": f"Extensions_{method.capitalize()}",
        "tags": [OPENAPI_TAG],
        "summary": "Call an install's extension (executed by the runner).",
        "parameters": [
            {
                "name": "install_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"},
            },
            {
                "name": "path",
                "in": "path",
                "required": True,
                "description": "The path the extension is asked for; slashes included.",
                "schema": {"type": "string"},
            },
            {
                "name": "Idempotency-Key",
                "in": "header",
                "description": "A retry with the same key (for this tenant and install) gets "
                "the first answer instead of a second execution.",
                "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
            },
        ],
        "responses": {
            "default": {
                "description": "The extension's own answer: its status, headers and body. "
                "Failures of the execution itself are google.rpc.Status bodies.",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            },
            "401": {
                "description": "No bearer token, or an unknown one.",
                "content": {"application/json": {"schema": error}},
            },
            "403": {
                "description": "The token lacks `extensions.execute` or names no tenant.",
                "content": {"application/json": {"schema": error}},
            },
            "429": {
                "description": "The runner is busy (see Retry-After), or a limit was hit.",
                "content": {"application/json": {"schema": error}},
            },
        },
        "security": [{BEARER_SCHEME: []}],
    }
    if method in ("post", "put", "patch", "delete"):
        operation["requestBody"] = {
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}
        }
    return operation


def add_to_openapi(document: dict[str, Any]) -> None:
    """Document the route in the gateway's /openapi.json."""
    path = "/v1/extensions/{install_id}/{path}"
    # Every method reaches the extension; the document lists the usual five.
    document["paths"][path] = {
        method: _operation(method) for method in ("get", "post", "put", "patch", "delete")
    }
    document["tags"].append(
        {"name": OPENAPI_TAG, "description": "Extensions' own HTTP APIs, per install."}
    )
    schemes = document["components"].setdefault("securitySchemes", {})
    schemes.setdefault(BEARER_SCHEME, {"type": "http", "scheme": "bearer"})
