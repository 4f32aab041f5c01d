"""One server interceptor that traces and times every RPC and learns how it ended.

gRPC never tells an interceptor the final status of a call, so it is worked out
here, once, and handed to every `RpcObserver` (metrics, logs) and to the RPC's
server span. It is one interceptor rather than a chain because each layer costs
grpc.aio a coroutine and a handler per call, on every call of every server.

The wrapper keeps the handler's own shape: a coroutine stays a coroutine and an
async generator stays an async generator, because grpc.aio picks its calling
convention from it. Cancellation is always re-raised: it is how grpc.aio stops a
handler whose deadline passed or whose client went away.

It is also the boundary where a refusal a handler raised (an
`ExtplaneServerError`) becomes the caller's status, so no handler aborts by hand.
And it answers what grpc.aio would answer with UNKNOWN and a Python class name
(see `failures`): a request whose bytes do not parse is refused with
INVALID_ARGUMENT, and an exception the handler did not mean to raise ends the
call with INTERNAL; the observers get the exception to log.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol, TypeAlias, cast

import grpc
import grpc.aio

from extplane.errors import ExtplaneServerError
from extplane.runtime.failures import (
    UndecodableRequest,
    answer_unexpected,
    decoded_requests,
    passes_through,
    refuse,
    refuse_undecodable,
    tolerant_deserializer,
    unexpected_code,
)
from extplane.runtime.server_spans import OpenServerSpan, ServerSpans


@dataclass(frozen=True, slots=True)
class RpcCall:
    """Which RPC is running, split out of gRPC's "/package.Service/Method" path."""

    service: str
    method: str

    @classmethod
    def from_path(cls, path: str) -> RpcCall:
        service, _, method = path.lstrip("/").rpartition("/")
        return cls(service=service or "unknown", method=method or "unknown")


@dataclass(frozen=True, slots=True)
class RpcOutcome:
    call: RpcCall
    code: grpc.StatusCode
    duration_s: float
    # Set only for an exception the handler did not mean to raise: not an abort,
    # not a cancellation. The client saw `code` (INTERNAL) and nothing of it.
    unexpected_error: BaseException | None = None


class RpcObserver(Protocol):
    def rpc_started(self, call: RpcCall) -> None: ...

    def rpc_finished(self, outcome: RpcOutcome) -> None: ...


_Behavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Any]
_Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"

_HANDLER_FACTORIES: dict[tuple[bool, bool], Callable[..., _Handler]] = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}

# Wrapped handlers kept at most, in case a catch-all generic handler serves any
# path a client names; beyond it, such paths are wrapped afresh on each call.
_MAX_REMEMBERED_METHODS = 1024


def _behavior_of(handler: _Handler) -> _Behavior:
    behavior: Any
    if handler.request_streaming:
        behavior = handler.stream_stream if handler.response_streaming else handler.stream_unary
    else:
        behavior = handler.unary_stream if handler.response_streaming else handler.unary_unary
    return cast(_Behavior, behavior)


class ObservingInterceptor(grpc.aio.ServerInterceptor):
    """Times every RPC, hands its outcome to `observers`, and, given `spans`, runs
    it inside a server span (except for the services in `untraced_services`).

    The span is opened before the observers hear of the call and closed after, so
    their logs carry its ids. A method's wrapped handler is built once and reused
    for as long as the server hands out the same handler for it.
    """

    def __init__(
        self,
        observers: Sequence[RpcObserver],
        *,
        spans: ServerSpans | None = None,
        untraced_services: Collection[str] = (),
    ) -> None:
        self._observers = tuple(observers)
        self._spans = spans
        self._untraced = frozenset(untraced_services)
        # path -> (the handler as the server gave it, our wrapper of it)
        self._wrapped: dict[str, tuple[_Handler, _Handler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[_Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> _Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        path = handler_call_details.method
        known = self._wrapped.get(path)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self._wrap(handler, path)
        if len(self._wrapped) < _MAX_REMEMBERED_METHODS or path in self._wrapped:
            self._wrapped[path] = (handler, wrapped)
        return wrapped

    def _wrap(self, handler: _Handler, path: str) -> _Handler:
        # Always wrapped, observers or not: undecodable requests and unexpected
        # exceptions must be answered here whatever is observed.
        call = RpcCall.from_path(path)
        traced = self._spans is not None and call.service not in self._untraced
        behavior = _behavior_of(handler)
        rpc = _ObservedRpc(
            call,
            path,
            self._observers,
            self._spans if traced else None,
            request_streaming=handler.request_streaming,
        )
        observed = (
            rpc.observe_stream(behavior)
            if inspect.isasyncgenfunction(behavior)
            else rpc.observe_call(behavior)
        )
        make_handler = _HANDLER_FACTORIES[(handler.request_streaming, handler.response_streaming)]
        return make_handler(
            observed,
            request_deserializer=tolerant_deserializer(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )


class _ObservedRpc:
    """What every call of one RPC method does before and after its handler."""

    __slots__ = ("_attributes", "_call", "_observers", "_path", "_request_streaming", "_spans")

    def __init__(
        self,
        call: RpcCall,
        path: str,
        observers: tuple[RpcObserver, ...],
        spans: ServerSpans | None,
        *,
        request_streaming: bool,
    ) -> None:
        self._call = call
        self._path = path
        self._observers = observers
        self._spans = spans
        self._request_streaming = request_streaming
        self._attributes = ServerSpans.attributes(call.service, call.method)

    async def _readable(self, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        """The request as the handler may take it; refuses one that did not parse."""
        if self._request_streaming:
            return decoded_requests(request, context)
        if isinstance(request, UndecodableRequest):
            await refuse_undecodable(context, request)
        return request

    def observe_call(self, behavior: _Behavior) -> _Behavior:
        """For a coroutine handler (any shape, e.g. health's `Watch`) or a plain function."""

        async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            span, started = self._started(context)
            try:
                try:
                    result = behavior(await self._readable(request, context), context)
                    if inspect.isawaitable(result):
                        result = await result
                except ExtplaneServerError as refusal:
                    await refuse(context, refusal)
            except BaseException as error:
                await self._failed(span, started, context, error)
            self._finished(span, started, context, None)
            return result

        return observed

    def observe_stream(self, behavior: _Behavior) -> _Behavior:
        """For an async-generator handler; the wrapper is an async generator too."""

        async def observed(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            span, started = self._started(context)
            try:
                try:
                    readable = await self._readable(request, context)
                    async for response in behavior(readable, context):
                        yield response
                except ExtplaneServerError as refusal:
                    await refuse(context, refusal)
            except BaseException as error:
                await self._failed(span, started, context, error)
            self._finished(span, started, context, None)

        return observed

    async def _failed(
        self,
        span: OpenServerSpan | None,
        started: float,
        context: grpc.aio.ServicerContext[Any, Any],
        error: BaseException,
    ) -> NoReturn:
        """The handler ended with `error`: grpc.aio's own endings go on as they are
        (it never suspends for them, so a closing stream may call this); anything
        else is answered without telling the client what it was."""
        if passes_through(error):
            self._finished(span, started, context, error)
            raise error
        self._finished(span, started, context, error, unexpected=True)
        await answer_unexpected(context)

    def _started(
        self, context: grpc.aio.ServicerContext[Any, Any]
    ) -> tuple[OpenServerSpan | None, float]:
        span = None
        if self._spans is not None:
            metadata = context.invocation_metadata() or ()
            span = self._spans.open(self._path, self._attributes, metadata)
        for observer in self._observers:
            observer.rpc_started(self._call)
        return span, time.perf_counter()

    def _finished(
        self,
        span: OpenServerSpan | None,
        started: float,
        context: grpc.aio.ServicerContext[Any, Any],
        error: BaseException | None,
        *,
        unexpected: bool = False,
    ) -> None:
        duration_s = time.perf_counter() - started
        code = unexpected_code(context) if unexpected else final_code(context, error)
        unexpected_error = error if unexpected else None
        try:
            if self._observers:
                outcome = RpcOutcome(self._call, code, duration_s, unexpected_error)
                for observer in self._observers:
                    observer.rpc_finished(outcome)
        finally:
            if span is not None:
                details = context.details() if code is not grpc.StatusCode.OK else None
                span.close(code, details, unexpected_error)


# A client gives up at its own deadline and resets the stream; the server's copy
# of the deadline was started later and sent rounded up, so the reset often
# arrives a few milliseconds before it. A cancellation that close is the deadline.
_DEADLINE_SLACK_S = 0.1


def final_code(
    context: grpc.aio.ServicerContext[Any, Any], error: BaseException | None
) -> grpc.StatusCode:
    """The status the client will see, given how the handler ended."""
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        # grpc.aio cancels the handler both when its deadline passes and when
        # the client (or a server stop) cancels the call; only the clock tells.
        remaining = context.time_remaining()
        if remaining is not None and remaining <= _DEADLINE_SLACK_S:
            return grpc.StatusCode.DEADLINE_EXCEEDED
        return grpc.StatusCode.CANCELLED
    code = context.code()
    if code is not None and code is not grpc.StatusCode.OK:
        return code
    if error is not None and not isinstance(error, grpc.aio.AbortError):
        # The client is gone or the server stopping (see `failures.passes_through`).
        return grpc.StatusCode.CANCELLED
    return grpc.StatusCode.OK
