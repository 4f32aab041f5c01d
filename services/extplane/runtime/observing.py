"""One server interceptor that times every RPC and learns how it ended.

gRPC never tells an interceptor the final status of a call, so it is worked out
here, once, and handed to every `RpcObserver` (metrics, logs). The wrapper keeps
the handler's own shape: a coroutine stays a coroutine and an async generator
stays an async generator, because grpc.aio picks its calling convention from it.
Cancellation is always re-raised: it is how grpc.aio stops a handler whose
deadline passed or whose client went away.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
import grpc.aio


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
    # not a cancellation.
    unexpected_error: BaseException | None = None


class RpcObserver(Protocol):
    def rpc_started(self, call: RpcCall) -> None: ...

    def rpc_finished(self, outcome: RpcOutcome) -> None: ...


_Behavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Any]


class ObservingInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, observers: Sequence[RpcObserver]) -> None:
        self._observers = tuple(observers)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None or not self._observers:
            return handler
        return self._wrap(handler, RpcCall.from_path(handler_call_details.method))

    def _wrap(
        self, handler: grpc.RpcMethodHandler[Any, Any], call: RpcCall
    ) -> grpc.RpcMethodHandler[Any, Any]:
        shape: dict[tuple[bool, bool], tuple[Any, Callable[..., Any]]] = {
            (False, False): (handler.unary_unary, grpc.unary_unary_rpc_method_handler),
            (False, True): (handler.unary_stream, grpc.unary_stream_rpc_method_handler),
            (True, False): (handler.stream_unary, grpc.stream_unary_rpc_method_handler),
            (True, True): (handler.stream_stream, grpc.stream_stream_rpc_method_handler),
        }
        behavior, make_handler = shape[(handler.request_streaming, handler.response_streaming)]
        if inspect.isasyncgenfunction(behavior):
            observed = self._observe_stream(behavior, call)
        else:
            observed = self._observe_call(behavior, call)
        wrapped: grpc.RpcMethodHandler[Any, Any] = make_handler(
            observed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        return wrapped

    def _observe_call(self, behavior: _Behavior, call: RpcCall) -> _Behavior:
        async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started = self._started(call)
            try:
                result = behavior(request, context)
                if inspect.isawaitable(result):
                    result = await result
            except BaseException as error:
                self._finished(call, started, context, error)
                raise
            self._finished(call, started, context, None)
            return result

        return observed

    def _observe_stream(self, behavior: _Behavior, call: RpcCall) -> _Behavior:
        async def observed(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            started = self._started(call)
            try:
                async for response in behavior(request, context):
                    yield response
            except BaseException as error:
                self._finished(call, started, context, error)
                raise
            self._finished(call, started, context, None)

        return observed

    def _started(self, call: RpcCall) -> float:
        for observer in self._observers:
            observer.rpc_started(call)
        return time.perf_counter()

    def _finished(
        self,
        call: RpcCall,
        started: float,
        context: grpc.aio.ServicerContext[Any, Any],
        error: BaseException | None,
    ) -> None:
        unexpected = None if isinstance(error, _EXPECTED_ENDINGS) else error
        outcome = RpcOutcome(
            call, final_code(context, error), time.perf_counter() - started, unexpected
        )
        for observer in self._observers:
            observer.rpc_finished(outcome)


# A client gives up at its own deadline and resets the stream; the server's copy
# of the deadline was started later and sent rounded up, so the reset often
# arrives a few milliseconds before it. A cancellation that close is the deadline.
_DEADLINE_SLACK_S = 0.1

_EXPECTED_ENDINGS = (asyncio.CancelledError, GeneratorExit, grpc.aio.AbortError)


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
        # What grpc.aio itself answers for an exception with no status set.
        return grpc.StatusCode.UNKNOWN
    return grpc.StatusCode.OK
