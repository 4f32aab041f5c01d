"""What the capability matrices share: every host RPC read from the Alga
descriptors, the denial docs/contracts.md names for it, and a call of any
RPC by its descriptor over a real channel."""

from __future__ import annotations

from typing import Any

import grpc
from alga_descriptors import alga_services
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from extplane.host import CAPABILITY_DENIED
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import capability_pb2
from tests.contracts.contract_support import markdown_table

_POOL_ENUMS = {value.type.name: value.type for value in alga_errors.error_variants()}


def capability_of(method: MethodDescriptor) -> str | None:
    options = method.containing_service.GetOptions()
    if not options.HasExtension(capability_pb2.required_capability):
        return None
    return options.Extensions[capability_pb2.required_capability]


HOST_METHODS = {
    method.full_name: method
    for service in alga_services()
    for method in service.methods
    if capability_of(method)
}
DOCUMENTED_ERROR_ENUMS = {
    row["RPC"]: row["error enum"] for row in markdown_table("WIT functions → RPCs")
}


def expected_denial(method: MethodDescriptor) -> tuple[str, str]:
    """(ErrorInfo reason, domain) a call without the capability gets, per the docs."""
    enum_name = DOCUMENTED_ERROR_ENUMS[method.full_name]
    if enum_name == "—":
        return CAPABILITY_DENIED, "extplane"
    denials = [
        value.name
        for value in _POOL_ENUMS[enum_name].values
        if alga_errors.variant_for_reason(value.name) is not None
        and alga_errors.status_for(value) is grpc.StatusCode.PERMISSION_DENIED
    ]
    assert len(denials) == 1, (enum_name, denials)
    return denials[0], alga_errors.ERROR_DOMAIN


async def call_rpc(
    channel: grpc.aio.Channel,
    method: MethodDescriptor,
    metadata: Any,
    request: Message | None = None,
) -> Any:
    """`method` called with `request` (default: its empty request message)."""
    request_class = message_factory.GetMessageClass(method.input_type)
    response = message_factory.GetMessageClass(method.output_type)
    path = f"/{method.containing_service.full_name}/{method.name}"
    call = channel.unary_unary(
        path,
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=response.FromString,
    )
    return await call(request_class() if request is None else request, metadata=metadata)
