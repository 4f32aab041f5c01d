"""Refusing bad input as the contracts promise: INVALID_ARGUMENT with a
`google.rpc.BadRequest` whose field violations name each offending field
(`event.timestamp`, `events[3].outcome`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, NoReturn

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from google.rpc import code_pb2, status_pb2
from google.rpc.error_details_pb2 import BadRequest
from grpc_status import rpc_status

# A refusal lists at most this many violations: they travel in a trailer,
# whose size gRPC clients bound (8 KiB by default).
MAX_VIOLATIONS = 20


class FieldViolation(NamedTuple):
    field: str
    description: str


class InvalidRequestError(Exception):
    """The request breaks the rules; `violations` say where (at most MAX_VIOLATIONS)."""

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = list(violations[:MAX_VIOLATIONS])
        self.total = len(violations)
        first = self.violations[0] if self.violations else FieldViolation("", "invalid")
        more = f" (and {self.total - 1} more)" if self.total > 1 else ""
        super().__init__(f"{first.field}: {first.description}{more}")


def bad_request_status(violations: Sequence[FieldViolation], message: str) -> status_pb2.Status:
    detail = AnyProto()
    detail.Pack(
        BadRequest(
            field_violations=[
                BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in violations
            ]
        )
    )
    return status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[detail])


async def abort_invalid(
    context: grpc.aio.ServicerContext[Any, Any], error: InvalidRequestError
) -> NoReturn:
    """End the call with INVALID_ARGUMENT naming each offending field."""
    await context.abort_with_status(
        rpc_status.to_status(bad_request_status(error.violations, str(error)))
    )
    raise AssertionError("abort_with_status returned")  # pragma: no cover - it raises


async def abort_field(
    context: grpc.aio.ServicerContext[Any, Any], field: str, description: str
) -> NoReturn:
    """End the call with INVALID_ARGUMENT naming one field."""
    await abort_invalid(context, InvalidRequestError([FieldViolation(field, description)]))
