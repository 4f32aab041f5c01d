"""The gateway's ASGI app: every annotated route, plus health, readiness, upstream
health and OpenAPI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import grpc
from opentelemetry import trace
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from extplane import __version__
from extplane.gateway.channels import UpstreamChannels
from extplane.gateway.comments import packaged_comments
from extplane.gateway.config import PUBLIC_METHODS, GatewaySettings
from extplane.gateway.console import console_routes
from extplane.gateway.draining import RequestDrain
from extplane.gateway.errors import RequestError
from extplane.gateway.extensions import ExtensionRoute, add_to_openapi
from extplane.gateway.forwarding import default_header_matcher
from extplane.gateway.metrics import GatewayMetrics
from extplane.gateway.no_store import NoStoreForCredentials
from extplane.gateway.openapi import openapi_document
from extplane.gateway.proxy import GatewayProxy
from extplane.gateway.readiness import upstream_report
from extplane.gateway.registry import HttpBinding, load_bindings
from extplane.gateway.responses import error_response, json_response
from extplane.gateway.routes import RouteTable
from extplane.gateway.types import HeaderMatcher, UpstreamResolver

OPENAPI_TITLE = "extplane gateway"
# What each download (an RPC answering google.api.HttpBody) may be, for /openapi.json:
# the first message's content_type decides at run time.
DOWNLOAD_MEDIA_TYPES: Mapping[str, Sequence[str]] = {
    "orloj.extensions.v1.AuditQueryService.ExportAuditEvents": ("application/x-ndjson", "text/csv"),
}


def create_app(
    settings: GatewaySettings,
    upstream_for: UpstreamResolver,
    *,
    bindings: Sequence[HttpBinding] | None = None,
    channels: UpstreamChannels | None = None,
    tracer_provider: trace.TracerProvider | None = None,
    header_matcher: HeaderMatcher = default_header_matcher,
    metrics_registry: CollectorRegistry | None = None,
    download_media_types: Mapping[str, Sequence[str]] = DOWNLOAD_MEDIA_TYPES,
    drain: RequestDrain | None = None,
) -> Starlette:
    """The gateway app.

    `bindings` defaults to every annotated RPC under `extplane_protos`. Channels
    passed in stay the caller's to close; otherwise the app opens its own and
    closes them at lifespan shutdown. Spans go to `tracer_provider`, else to the
    global one; request metrics to `metrics_registry`, else nowhere scraped.
    `download_media_types` (full method name -> media types) documents downloads in
    /openapi.json. `/readyz` answers 503 once `drain` is draining (never, without
    one). A bad annotation raises `BindingError` here, at start.
    """
    table = RouteTable(load_bindings() if bindings is None else bindings)
    owned = channels is None
    upstream_channels = UpstreamChannels() if channels is None else channels
    tracer = trace.get_tracer(__name__, __version__, tracer_provider=tracer_provider)
    metrics = GatewayMetrics(metrics_registry)
    proxy = GatewayProxy(
        settings,
        table,
        upstream_for,
        upstream_channels,
        tracer=tracer,
        header_matcher=header_matcher,
        metrics=metrics,
    )
    extensions = ExtensionRoute(
        settings, upstream_for, upstream_channels, tracer=tracer, metrics=metrics
    )
    document = openapi_document(
        table.bindings,
        title=OPENAPI_TITLE,
        version=__version__,
        comments=packaged_comments(),
        bearer_services=frozenset(settings.bearer_services),
        public_methods=frozenset(PUBLIC_METHODS),
        download_media_types=download_media_types,
    )
    add_to_openapi(document)
    document_body = json.dumps(document, separators=(",", ":")).encode()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        # The gateway's own readiness only: see `readiness` for why upstreams stay out.
        if drain is not None and drain.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def upstreamz(request: Request) -> Response:
        status, body = await upstream_report(
            table.service_names(), upstream_for, upstream_channels, settings.readiness_timeout_s
        )
        return JSONResponse(body, status_code=status)

    async def openapi(request: Request) -> Response:
        return json_response(request, document_body, {})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if owned:
                await upstream_channels.stop()

    async def unmatched(request: Request, exc: Exception) -> Response:
        # Starlette's own 404 (text/plain), for a path its catch-all pattern cannot
        # match (one holding an encoded newline): the same Status body as any other.
        return error_response(
            RequestError(grpc.StatusCode.NOT_FOUND, "not found", http_status=404), {}
        )

    return Starlette(
        exception_handlers={404: unmatched},
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/upstreamz", upstreamz, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            *console_routes(settings.console),
            *extensions.routes(),
            # An ASGI endpoint with no method list: the route table answers 404 and 405.
            Route("/{path:path}", proxy),
        ],
        middleware=[Middleware(NoStoreForCredentials)],
        lifespan=lifespan,
    )
