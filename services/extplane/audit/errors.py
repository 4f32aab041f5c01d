"""Refusals as the contract states them: INVALID_ARGUMENT + google.rpc.BadRequest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import grpc
from google.protobuf.any_pb2 import Any as AnyProto
from google.rpc import code_pb2, status_pb2
from google.rpc.error_details_pb2 import BadRequest
from grpc_status import rpc_status

from extplane.audit.validation import FieldViolation, InvalidRequestError


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
