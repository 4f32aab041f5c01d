"""One HTTP request through its binding: transcode, call the upstream, answer.

The answers themselves (bodies, ETags, errors) are built by `responses`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import grpc
from google.protobuf import message_factory
from google.protobuf.message import Message
from opentelemetry import propagate, trace
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from extplane.gateway.answered import answered
from extplane.gateway.channels import UpstreamChannels
from extplane.gateway.config import GatewaySettings
from extplane.gateway.deadline import call_timeout_s
from extplane.gateway.errors import RequestError, http_status_for, request_error_from_rpc
from extplane.gateway.forwarding import (
    REQUEST_ID_HEADER,
    outgoing_metadata,
    request_id_from,
    response_metadata_headers,
)
from extplane.gateway.metrics import UNMATCHED_ROUTE, GatewayMetrics
from extplane.gateway.registry import HttpBinding
from extplane.gateway.responses import (
    RAW_BODY_HEADERS,
    body_response,
    json_response,
)
from extplane.gateway.routes import RouteMatch, RouteTable
from extplane.gateway.streaming import (
    OnClose,
    RawBodyEncoder,
    StreamOutcome,
    UpstreamStreamResponse,
    encoder_for,
    first_message,
)
from extplane.gateway.transcode import build_request, render_response
from extplane.gateway.types import HeaderMatcher, UpstreamResolver
from extplane_client.errors import status_code_number

logger = logging.getLogger(__name__)


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


def _codec(binding: HttpBinding) -> tuple[Callable[[Message], bytes], Callable[[bytes], Message]]:
    """(request serializer, response deserializer) of the binding's RPC."""
    return _serialize, message_factory.GetMessageClass(binding.response_type).FromString


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body; 413 (a google.rpc.Status) past `limit` bytes."""
    too_large = RequestError(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"request body exceeds {limit} bytes",
        http_status=413,
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


class GatewayProxy:
    """The ASGI endpoint behind every annotated route (any method, any path)."""

    def __init__(
        self,
        settings: GatewaySettings,
        table: RouteTable,
        upstream_for: UpstreamResolver,
        channels: UpstreamChannels,
        *,
        tracer: trace.Tracer,
        header_matcher: HeaderMatcher,
        metrics: GatewayMetrics,
    ) -> None:
        self._settings = settings
        self._table = table
        self._upstream_for = upstream_for
        self._channels = channels
        self._tracer = tracer
        self._header_matcher = header_matcher
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        echo = {REQUEST_ID_HEADER: request_id}
        route = UNMATCHED_ROUTE

        async def produce() -> Response:
            nonlocal route
            match = self._table.match(request.method, _raw_path(request))
            route = match.binding.template.source
            return await self._traced(request, match, request_id, echo)

        response = await answered(request, produce, realm=self._settings.auth_realm, echo=echo)
        elapsed = time.perf_counter() - started
        self._metrics.observe(route, request.method, response.status_code, elapsed)
        return response

    async def _traced(
        self, request: Request, match: RouteMatch, request_id: str, echo: dict[str, str]
    ) -> Response:
        binding = match.binding
        parent = propagate.extract(request.headers)
        with self._tracer.start_as_current_span(
            f"{binding.http_method} {binding.template.source}",
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes={
                "http.request.method": request.method,
                "http.route": binding.template.source,
                "rpc.system": "grpc",
                "rpc.service": binding.service_name,
                "rpc.method": binding.method.name,
                "extplane.request_id": request_id,
            },
            record_exception=False,
            set_status_on_exception=False,
            # A streamed answer outlives this block: its span ends with the stream.
            end_on_exit=False,
        ) as span:
            handed_over = False
            try:
                response = await self._forward(
                    request, match, request_id, echo, self._stream_closer(span, binding)
                )
                span.set_attribute("http.response.status_code", response.status_code)
                handed_over = isinstance(response, UpstreamStreamResponse)
                if not handed_over:
                    span.set_attribute("rpc.grpc.status_code", 0)
                return response
            except RequestError as error:
                span.set_attribute("rpc.grpc.status_code", status_code_number(error.code))
                span.set_attribute("http.response.status_code", error.http_status)
                if error.http_status >= 500:
                    span.set_status(trace.StatusCode.ERROR, error.message)
                raise
            finally:
                if not handed_over:
                    span.end()

    def _stream_closer(self, span: trace.Span, binding: HttpBinding) -> OnClose:
        route = binding.template.source

        def closed(outcome: StreamOutcome, code: grpc.StatusCode) -> None:
            span.set_attribute("rpc.grpc.status_code", status_code_number(code))
            span.set_attribute("extplane.stream.outcome", outcome.value)
            if outcome is StreamOutcome.UPSTREAM_ERROR and http_status_for(code) >= 500:
                span.set_status(trace.StatusCode.ERROR, f"stream cut short: {code.name}")
            span.end()
            self._metrics.stream_ended(route, outcome.value)

        return closed

    async def _forward(
        self,
        request: Request,
        match: RouteMatch,
        request_id: str,
        echo: dict[str, str],
        on_stream_close: OnClose,
    ) -> Response:
        binding = match.binding
        body = await read_body(request, self._settings.max_request_body_bytes)
        message = build_request(
            binding,
            path_values=match.path_values,
            query=request.query_params.multi_items(),
            body=body,
        )
        configured_s = (
            self._settings.stream_timeout_s
            if binding.server_streaming
            else self._settings.request_timeout_s
        )
        timeout = call_timeout_s(request.headers, configured_s)
        metadata = outgoing_metadata(
            request.headers.items(),
            request_id=request_id,
            client_host=request.client.host if request.client else None,
            matcher=self._header_matcher,
        )
        carrier: dict[str, str] = {}
        propagate.inject(carrier)  # the current context holds the span just started
        metadata.extend(carrier.items())
        if binding.server_streaming:
            return await self._stream(
                binding, message, metadata, timeout, request.receive, echo, on_stream_close
            )
        reply, headers = await self._call(binding, message, metadata, timeout)
        if binding.raw_body:
            raw = RawBodyEncoder(binding.method.full_name)
            return body_response(
                request,
                raw.chunk(reply),
                {**headers, **echo, **RAW_BODY_HEADERS},
                content_type=raw.content_type(reply),
            )
        return json_response(request, render_response(binding, reply), {**headers, **echo})

    def _channel(self, binding: HttpBinding) -> grpc.aio.Channel:
        try:
            address = self._upstream_for(binding.service_name)
        except (LookupError, ValueError):
            logger.error("no upstream address for %s", binding.service_name)
            raise RequestError(
                grpc.StatusCode.UNAVAILABLE, f"upstream {binding.service_name} unavailable"
            ) from None
        return self._channels.get(address)

    async def _call(
        self,
        binding: HttpBinding,
        message: Message,
        metadata: list[tuple[str, str | bytes]],
        deadline_s: float,
    ) -> tuple[Message, dict[str, str]]:
        rpc = self._channel(binding).unary_unary(binding.rpc_path, *_codec(binding))
        call = rpc(message, timeout=deadline_s, metadata=tuple(metadata))
        try:
            reply: Message = await call
            initial = await call.initial_metadata()
            trailing = await call.trailing_metadata()
        except grpc.aio.AioRpcError as exc:
            raise request_error_from_rpc(exc, binding.service_name) from None
        return reply, response_metadata_headers(initial or (), trailing or ())

    async def _stream(
        self,
        binding: HttpBinding,
        message: Message,
        metadata: list[tuple[str, str | bytes]],
        deadline_s: float,
        receive: Receive,
        echo: dict[str, str],
        on_close: OnClose,
    ) -> Response:
        """The stream as a response, once its first message is in (see `streaming`)."""
        rpc = self._channel(binding).unary_stream(binding.rpc_path, *_codec(binding))
        call = rpc(message, timeout=deadline_s, metadata=tuple(metadata))
        try:
            first = await first_message(call, receive)
            initial = await call.initial_metadata()
        except grpc.aio.AioRpcError as exc:
            raise request_error_from_rpc(exc, binding.service_name) from None
        headers = {**response_metadata_headers(initial or (), ()), **echo}
        if binding.raw_body:
            headers.update(RAW_BODY_HEADERS)
        return UpstreamStreamResponse(
            call,
            first,
            encoder_for(binding),
            service=binding.service_name,
            headers=headers,
            on_close=on_close,
        )
