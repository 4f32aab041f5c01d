"""The one root of every exception extplane_client raises, and gRPC code numbers."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import grpc

_CODES_BY_NUMBER: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}


def status_code_number(code: grpc.StatusCode) -> int:
    """The wire number of a status code (`google.rpc.Status.code`)."""
    number: int = code.value[0]
    return number


def status_code_from_number(number: int) -> grpc.StatusCode | None:
    """The status code with that wire number, or None for a number gRPC does not define."""
    return _CODES_BY_NUMBER.get(number)


class ExtplaneError(Exception):
    """A call to an extplane service failed; `code` is its gRPC status code.

    `field_violations` maps each request field a refusal named (INVALID_ARGUMENT
    with a `google.rpc.BadRequest`) to what is wrong with it; empty otherwise.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        details: str,
        *,
        field_violations: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code.name}: {details}" if details else code.name)
        self.code = code
        self.details = details
        self.field_violations: Mapping[str, str] = MappingProxyType(dict(field_violations or {}))
