"""Alga WIT error variants <-> gRPC statuses, both directions, read from the contract.

A variant is the `EnumValueDescriptor` of an error enum value in
`alga.extension.v1` (for example `SECRET_ERROR_MISSING` of `SecretError`). Its
gRPC code is the `(alga.extension.v1.grpc_code)` option on that value; on the
wire a failed call carries that code plus a `google.rpc.ErrorInfo` whose
`reason` is the value's name and whose `domain` is `alga.extension`.

Servers:
    await abort_with(context, variant(types_pb2.SecretError, types_pb2.SECRET_ERROR_MISSING),
                     "no such secret")
Clients (the runner maps back to the WIT variant):
    found = variant_from_error(err)   # EnumValueDescriptor or None
"""

from __future__ import annotations

from functools import cache
from typing import Any, NoReturn, Protocol, cast

import grpc
import grpc.aio
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.descriptor import EnumDescriptor, EnumValueDescriptor
from google.rpc.error_details_pb2 import ErrorInfo
from google.rpc.status_pb2 import Status
from grpc_status import rpc_status

from extplane_client.errors import status_code_from_number, status_code_number
from extplane_protos.alga.extension.v1 import errors_pb2, types_pb2

ERROR_DOMAIN = "alga.extension"

Variant = EnumValueDescriptor


class GeneratedEnum(Protocol):
    """A generated enum such as `types_pb2.SecretError`."""

    @property
    def DESCRIPTOR(self) -> EnumDescriptor: ...  # noqa: N802 - protobuf's name


@cache
def _variants_by_reason() -> dict[str, Variant]:
    """Every value of every enum in types.proto that carries a gRPC code."""
    found: dict[str, Variant] = {}
    for enum in types_pb2.DESCRIPTOR.enum_types_by_name.values():
        for value in enum.values:
            if not value.GetOptions().HasExtension(errors_pb2.grpc_code):
                continue
            number = value.GetOptions().Extensions[errors_pb2.grpc_code]
            # Checked once here so a bad contract fails loudly at first use, not mid-call.
            if status_code_from_number(number) in (None, grpc.StatusCode.OK):
                raise RuntimeError(f"{value.name}: grpc_code {number} is not an error code")
            found[value.name] = value
    return found


def error_variants() -> tuple[Variant, ...]:
    """Every error variant of the contract, in declaration order."""
    return tuple(_variants_by_reason().values())


def variant(enum: GeneratedEnum | EnumDescriptor, number: int) -> Variant:
    """The variant `number` of error enum `enum` (a generated enum or its descriptor)."""
    descriptor = enum if isinstance(enum, EnumDescriptor) else enum.DESCRIPTOR
    value = descriptor.values_by_number.get(number)
    if value is None or _variants_by_reason().get(value.name) is not value:
        raise ValueError(f"{number} is not an error variant of {descriptor.full_name}")
    return value


def variant_for_reason(reason: str) -> Variant | None:
    """The variant whose ErrorInfo reason (= enum value name) is `reason`, if any."""
    return _variants_by_reason().get(reason)


def status_for(error: Variant) -> grpc.StatusCode:
    """The gRPC status code a host answers with for `error`."""
    known = _variants_by_reason().get(error.name)
    if known is not error:
        raise ValueError(f"{error.type.full_name}.{error.name} is not an Alga error variant")
    code = status_code_from_number(error.GetOptions().Extensions[errors_pb2.grpc_code])
    assert code is not None  # checked for every variant when the table is built
    return code


def rich_status(error: Variant, message: str) -> Status:
    """A `google.rpc.Status` for `error`, carrying the ErrorInfo that names it."""
    info = ErrorInfo(reason=error.name, domain=ERROR_DOMAIN)
    detail = AnyProto()
    detail.Pack(info)
    return Status(code=status_code_number(status_for(error)), message=message, details=[detail])


async def abort_with(
    context: grpc.aio.ServicerContext[Any, Any], error: Variant, message: str
) -> NoReturn:
    """End the current RPC with `error`; `message` must not hold secrets."""
    await context.abort_with_status(rpc_status.to_status(rich_status(error, message)))


def variant_from_error(err: grpc.RpcError) -> Variant | None:
    """The variant a failed call carries, or None when it carries none.

    None also when the ErrorInfo disagrees with the status code: a peer that
    breaks the contract must not be trusted to name the variant.
    """
    if not callable(getattr(err, "trailing_metadata", None)):
        return None
    try:
        status: Status | None = rpc_status.from_call(cast(grpc.Call, err))
    except ValueError:
        return None
    if status is None:
        return None
    info = ErrorInfo()
    for detail in status.details:
        if not detail.Unpack(info) or info.domain != ERROR_DOMAIN:
            continue
        found = variant_for_reason(info.reason)
        if found is not None and status_for(found) == err.code():
            return found
        return None
    return None
