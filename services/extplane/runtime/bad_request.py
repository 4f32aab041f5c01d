"""Refusing bad input as the contracts promise: INVALID_ARGUMENT with a
`google.rpc.BadRequest` whose field violations name each offending field
(`event.timestamp`, `events[3].outcome`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import grpc
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import BadRequest

from extplane.errors import ExtplaneServerError

# A refusal lists at most this many violations: they travel in a trailer,
# whose size gRPC clients bound (8 KiB by default).
MAX_VIOLATIONS = 20


class FieldViolation(NamedTuple):
    field: str
    description: str


class InvalidRequestError(ExtplaneServerError):
    """The request breaks the rules; `violations` say where (at most MAX_VIOLATIONS)."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = list(violations[:MAX_VIOLATIONS])
        total = len(violations)
        first = self.violations[0] if self.violations else FieldViolation("", "invalid")
        more = f" (and {total - 1} more)" if total > 1 else ""
        super().__init__(f"{first.field}: {first.description}{more}")

    @classmethod
    def field(cls, field: str, description: str) -> InvalidRequestError:
        """A refusal naming one field."""
        return cls([FieldViolation(field, description)])

    def status_details(self) -> Sequence[Message]:
        return (
            BadRequest(
                field_violations=[
                    BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in self.violations
                ]
            ),
        )
