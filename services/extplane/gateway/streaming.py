"""Server-streaming RPCs as streamed HTTP responses.

Two shapes, chosen by the response type:

* `google.api.HttpBody` (grpc-gateway's convention for raw downloads): the HTTP
  body is every message's `data`, concatenated; `Content-Type` is the first
  message's `content_type` (`application/octet-stream` when it has none).
* any other message: NDJSON (`application/x-ndjson`), one line per message,
  `{"result": <message as protojson>}`, as grpc-gateway writes streams.

The first message is awaited before any byte is sent, so a failure up to then
is an ordinary error answer (status from the table, `google.rpc.Status` body).
After that the HTTP status is on the wire and cannot change: a failure cuts the
transfer short (the body is never terminated and the connection is dropped),
so a client sees a truncated download, never a complete-looking one. An NDJSON
stream first writes a last line `{"error": <google.rpc.Status>}`.

Each message is read only after the previous chunk went to the server, which
waits while the client's socket is full, so gRPC flow control holds the
upstream back and memory stays bounded whatever the size of the stream. A
client that goes away, before or after the first message, cancels the
upstream call.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any, Protocol, cast

import grpc
from google.protobuf.message import Message
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from extplane.gateway.errors import RequestError, request_error_from_rpc
from extplane.gateway.registry import HttpBinding
from extplane.gateway.transcode import render_response

logger = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"
OCTET_STREAM = "application/octet-stream"
_HEADER_VALUE = re.compile(r"[\x21-\x7e][\x20-\x7e]*")

StreamCall = grpc.aio.UnaryStreamCall[Any, Any]


class StreamOutcome(enum.StrEnum):
    COMPLETED = "completed"
    UPSTREAM_ERROR = "upstream_error"
    CLIENT_DISCONNECTED = "client_disconnected"


OnClose = Callable[[StreamOutcome, grpc.StatusCode], None]


class ClientGoneError(RequestError):
    """The client left before the first message; nobody reads this answer."""

    def __init__(self) -> None:
        # 499 as for CANCELLED: nginx's "client closed request".
        super().__init__(grpc.StatusCode.CANCELLED, "client closed the request")


class ChunkEncoder(Protocol):
    def content_type(self, first: Message | None) -> str: ...

    def chunk(self, message: Message) -> bytes: ...

    def failure(self, error: grpc.aio.AioRpcError, service: str) -> bytes:
        """What goes out before the transfer is cut short (may be nothing)."""
        ...


class RawBodyEncoder:
    """`google.api.HttpBody` messages: their bytes, as they are."""

    def __init__(self, rpc: str) -> None:
        self._rpc = rpc

    def content_type(self, first: Message | None) -> str:
        declared: str = getattr(first, "content_type", "") if first is not None else ""
        if _HEADER_VALUE.fullmatch(declared):
            return declared
        if declared:
            logger.warning("%s sent content_type %r, not a header value", self._rpc, declared)
        return OCTET_STREAM

    def chunk(self, message: Message) -> bytes:
        data: bytes = getattr(message, "data")  # noqa: B009 - HttpBody has no static type here
        return data

    def failure(self, error: grpc.aio.AioRpcError, service: str) -> bytes:
        # Raw bytes have no room for an error: the truncation is the signal.
        return b""


class NdjsonEncoder:
    """Any other message: one `{"result": ...}` line each."""

    def __init__(self, binding: HttpBinding) -> None:
        self._binding = binding

    def content_type(self, first: Message | None) -> str:
        return NDJSON

    def chunk(self, message: Message) -> bytes:
        return b'{"result":' + render_response(self._binding, message) + b"}\n"

    def failure(self, error: grpc.aio.AioRpcError, service: str) -> bytes:
        # Converted as for an error answer: what the upstream chose to tell the client.
        return b'{"error":' + request_error_from_rpc(error, service).body() + b"}\n"


def encoder_for(binding: HttpBinding) -> ChunkEncoder:
    return RawBodyEncoder(binding.method.full_name) if binding.raw_body else NdjsonEncoder(binding)


async def _disconnected(receive: Receive) -> None:
    # The request body was read already; what arrives now is the disconnect.
    while (await receive())["type"] != "http.disconnect":
        pass


async def first_message(call: StreamCall, receive: Receive) -> Message | None:
    """The stream's first message, None if it ended with none.

    An upstream failure raises `grpc.aio.AioRpcError`; a client that leaves
    meanwhile raises `ClientGoneError`, after cancelling the call.
    """
    reading: asyncio.Future[Any] = asyncio.ensure_future(call.read())
    watching = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait({reading, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Cancelled, not awaited: awaiting it could swallow a cancellation of our own.
        watching.cancel()
        if not reading.done():
            reading.cancel()
            call.cancel()
    if reading.cancelled():
        raise ClientGoneError()
    reply = reading.result()
    if reply is grpc.aio.EOF:
        return None
    first: Message = reply
    return first


class UpstreamStreamResponse(StreamingResponse):
    """Streams the rest of an open call whose first message has arrived.

    `on_close(outcome, code)` runs once, when the response is over.
    """

    def __init__(
        self,
        call: StreamCall,
        first: Message | None,
        encoder: ChunkEncoder,
        *,
        service: str,
        headers: Mapping[str, str],
        on_close: OnClose,
    ) -> None:
        self._call = call
        self._first = first
        self._encoder = encoder
        self._service = service
        self._on_close = on_close
        self._finished = first is None
        self._failure: grpc.StatusCode | None = None
        self._sent_bytes = 0
        self._generator = self._chunks()
        # Content-Type goes in as a header: given as media_type, Starlette would append
        # a charset to text/* types, and the upstream's value must reach the client as is.
        super().__init__(
            self._generator,
            headers={**headers, "content-type": encoder.content_type(first)},
        )

    async def _chunks(self) -> AsyncGenerator[bytes, None]:
        if self._first is None:
            return
        if first := self._encoder.chunk(self._first):
            yield first
        while True:
            try:
                reply = await self._call.read()
            except grpc.aio.AioRpcError as exc:
                self._failure = exc.code()
                logger.warning(
                    "stream of %s cut short after %d bytes: upstream answered %s %s",
                    self._service,
                    self._sent_bytes,
                    exc.code().name,
                    exc.details() or "(no message)",
                )
                if tail := self._encoder.failure(exc, self._service):
                    yield tail
                return
            if reply is grpc.aio.EOF:
                self._finished = True
                return
            if chunk := self._encoder.chunk(cast("Message", reply)):
                yield chunk

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        async for chunk in self._generator:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            self._sent_bytes += len(chunk)
        if not self._finished:
            # Returning without the final (empty) body message leaves the chunked body
            # unterminated; the server then drops the connection, and the client sees a
            # truncated transfer instead of a complete one.
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # A no-op for a finished call; stops the upstream when the client left.
            self._call.cancel()
            await self._generator.aclose()
            if self._finished:
                self._on_close(StreamOutcome.COMPLETED, grpc.StatusCode.OK)
            elif self._failure is not None:
                self._on_close(StreamOutcome.UPSTREAM_ERROR, self._failure)
            else:
                self._on_close(StreamOutcome.CLIENT_DISCONNECTED, grpc.StatusCode.CANCELLED)
