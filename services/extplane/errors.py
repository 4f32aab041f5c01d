"""The root of every error an extplane server raises on purpose.

A refusal raised inside an RPC handler reaches the caller as its own status:
the server runtime converts it at the boundary (`observing`), so handlers
raise and never call `context.abort` for one. A `StartupError` stops
`extplane up` / `extplane serve` with one line naming what to fix and exit
status 2.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.message import Message
from google.rpc import status_pb2


class ExtplaneServerError(Exception):
    """Raised on purpose by extplane's servers; `code` is what a caller sees."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def status_details(self) -> Sequence[Message]:
        """Rich error details (`google.rpc.*` messages) carried in the status."""
        return ()

    def status_proto(self) -> status_pb2.Status:
        status = status_pb2.Status(code=self.code.value[0], message=str(self))
        for detail in self.status_details():
            packed = AnyProto()
            packed.Pack(detail)
            status.details.append(packed)
        return status


class StartupError(ExtplaneServerError):
    """A server cannot start: bad settings, an unusable file or database.

    The message names the setting or file and what is wrong with it.
    """


class NotServingError(ExtplaneServerError):
    """The service is not started yet, or is stopping; the caller may retry."""

    code = grpc.StatusCode.UNAVAILABLE


class StoreUnavailableError(ExtplaneServerError):
    """The store failed or is unreachable; nothing was acknowledged, so a retry is safe."""

    code = grpc.StatusCode.UNAVAILABLE


class OutOfRangeError(ExtplaneServerError):
    """A valid request whose answer cannot be represented (e.g. a sum past 2^63)."""

    code = grpc.StatusCode.OUT_OF_RANGE


class NotFoundError(ExtplaneServerError):
    """The named resource does not exist."""

    code = grpc.StatusCode.NOT_FOUND


class AlreadyExistsError(ExtplaneServerError):
    """A create named a resource that already exists; nothing was changed."""

    code = grpc.StatusCode.ALREADY_EXISTS


class AbortedError(ExtplaneServerError):
    """A conditional change lost to another one (a stale revision); nothing was
    changed, and the caller may read again and retry."""

    code = grpc.StatusCode.ABORTED


class FailedPreconditionError(ExtplaneServerError):
    """The resource is not in a state that allows the call (e.g. a disabled install)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class UnauthenticatedError(ExtplaneServerError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDeniedError(ExtplaneServerError):
    code = grpc.StatusCode.PERMISSION_DENIED


@contextmanager
def store_failures(what: str, logger: logging.Logger) -> Iterator[None]:
    """Turn a failing store call inside the block into `StoreUnavailableError(what)`.

    The cause (a driver error, a full disk) goes to `logger` with its traceback,
    never to the caller: it may name paths and hosts.
    """
    try:
        yield
    except ExtplaneServerError:
        raise
    except Exception:
        logger.exception("%s", what)
        raise StoreUnavailableError(what) from None
