"""What a call answers when its handler refuses it, when its request cannot be read,
or when its handler fails unexpectedly.

Left to itself, grpc.aio answers both with UNKNOWN "Unexpected <class '...'>:
..." (a Python class name and exception text for the client) and logs a
traceback per call. Here, once for every service:

* a refusal the handler raised (an `ExtplaneServerError`) ends the call with its
  own status and details (`refuse`);
* bytes that do not parse as the method's request message get
  INVALID_ARGUMENT. The deserializer cannot answer the call itself (grpc.aio
  runs it outside the handler), so `tolerant_deserializer` hands the handler
  wrapper an `UndecodableRequest` instead of raising, and the wrapper refuses
  it with `refuse_undecodable`;
* any other exception a handler lets escape gets INTERNAL with a generic
  message (`answer_unexpected`); what went wrong goes to the log (`rpc_log`),
  at a bounded rate.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
import grpc.aio
from grpc_status import rpc_status

from extplane.errors import ExtplaneServerError

INTERNAL_ERROR_MESSAGE = "internal error"

# Raised by grpc.aio itself when the client went away or the server is
# stopping while a handler writes; grpc.aio handles them quietly, so they pass.
# Private names of its Cython core, hence looked up rather than imported.
_cygrpc = importlib.import_module("grpc._cython.cygrpc")
_TRANSPORT_ENDINGS: tuple[type[BaseException], ...] = tuple(
    error
    for error in (
        getattr(_cygrpc, "ExecuteBatchError", None),
        getattr(_cygrpc, "_ServerStoppedError", None),
    )
    if isinstance(error, type) and issubclass(error, BaseException)
)


@dataclass(frozen=True, slots=True)
class UndecodableRequest:
    """Stands in for a request message whose bytes did not parse."""

    type_name: str
    size: int


Deserializer = Callable[[bytes], Any]


def _type_name(deserializer: Deserializer) -> str:
    # Generated stubs pass `Message.FromString`, a classmethod bound to the class.
    owner = getattr(deserializer, "__self__", None)
    descriptor = getattr(owner, "DESCRIPTOR", None)
    name = getattr(descriptor, "full_name", None)
    return name if isinstance(name, str) else "request"


def tolerant_deserializer(deserializer: Deserializer | None) -> Deserializer | None:
    """`deserializer`, answering bytes it cannot parse with an `UndecodableRequest`."""
    if deserializer is None:
        return None
    type_name = _type_name(deserializer)

    def deserialize(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except Exception:
            return UndecodableRequest(type_name, len(raw))

    return deserialize


async def refuse(
    context: grpc.aio.ServicerContext[Any, Any], refusal: ExtplaneServerError
) -> NoReturn:
    """End the call with the refusal's status and rich details."""
    if refusal.status_details():
        await context.abort_with_status(rpc_status.to_status(refusal.status_proto()))
    await context.abort(refusal.code, str(refusal))
    raise AssertionError("abort returned")  # pragma: no cover - abort raises


async def refuse_undecodable(
    context: grpc.aio.ServicerContext[Any, Any], request: UndecodableRequest
) -> NoReturn:
    await context.abort(
        grpc.StatusCode.INVALID_ARGUMENT,
        f"the request ({request.size} bytes) is not a valid {request.type_name} message",
    )
    raise AssertionError("abort returned")  # pragma: no cover - abort raises


async def decoded_requests(
    requests: AsyncIterator[Any], context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[Any]:
    """A request stream that ends the call with INVALID_ARGUMENT at the first
    message that did not parse."""
    async for request in requests:
        if isinstance(request, UndecodableRequest):
            await refuse_undecodable(context, request)
        yield request


def passes_through(error: BaseException) -> bool:
    """True for the endings grpc.aio must see as they are: cancellation, aborts,
    a generator closed, a client gone, a server stopping, interpreter exits."""
    return not isinstance(error, Exception) or isinstance(
        error, (grpc.aio.AbortError, *_TRANSPORT_ENDINGS)
    )


def unexpected_code(context: grpc.aio.ServicerContext[Any, Any]) -> grpc.StatusCode:
    """The status an unexpected exception ends the call with: the code the
    handler had set, if any, else INTERNAL."""
    code = context.code()
    if isinstance(code, grpc.StatusCode) and code is not grpc.StatusCode.OK:
        return code
    return grpc.StatusCode.INTERNAL


async def answer_unexpected(context: grpc.aio.ServicerContext[Any, Any]) -> NoReturn:
    """End the call after an unexpected exception, telling the client nothing of it."""
    code = unexpected_code(context)
    details = context.details() if code is not grpc.StatusCode.INTERNAL else None
    await context.abort(code, details or INTERNAL_ERROR_MESSAGE)
    raise AssertionError("abort returned")  # pragma: no cover - abort raises
