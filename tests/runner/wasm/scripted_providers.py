"""Host providers whose answers a test scripts through the install token.

A real grpc.aio server on 127.0.0.1 serving every Alga host interface. The
runner sends the token as-is, so the token says what every call answers:
`variant:<REASON>` ends each call with that WIT error variant exactly as a
host does (`alga_errors.abort_with`); `none` answers empty responses (an
unset `option`); `ok` answers the canned `ANSWERS`. Every request received is kept in
`Providers.received` as ("Service.Method", request message).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
import grpc.aio
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from extplane.host.enforcement import TOKEN_METADATA_KEY
from extplane.runner.wasm.bindings import BINDINGS
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import (
    clients_pb2,
    http_pb2,
    services_pb2,
    types_pb2,
    ui_proxy_pb2,
    user_v2_pb2,
)

CLIENT = types_pb2.ClientSummary(
    client_id="c-1", client_name="Acme", is_inactive=True, billing_email="billing@acme.test"
)
SERVICE = types_pb2.ServiceSummary(
    service_id="s-1",
    service_name="Backup",
    item_kind=types_pb2.SERVICE_ITEM_KIND_PRODUCT,
    billing_method=types_pb2.SERVICE_BILLING_METHOD_USAGE,
    default_rate=12.5,
    unit_of_measure="GB",
    is_active=True,
    sku="BK-1",
)
ANSWERS: dict[str, Message] = {
    "HttpService.Fetch": http_pb2.HttpServiceFetchResponse(
        response=types_pb2.HttpResponse(
            status=201, headers=[types_pb2.HttpHeader(name="x-a", value="1")], body=b"made"
        )
    ),
    "UiProxyService.Call": ui_proxy_pb2.UiProxyServiceCallResponse(payload=b"\x00proxied"),
    "ClientsService.GetClient": clients_pb2.GetClientResponse(client=CLIENT),
    "ClientsService.ListClients": clients_pb2.ListClientsResponse(
        result=types_pb2.ClientsListResult(items=[CLIENT], total_count=1, page=1, page_size=50)
    ),
    "ServicesService.GetService": services_pb2.GetServiceResponse(service=SERVICE),
    "ServicesService.ListServices": services_pb2.ListServicesResponse(
        result=types_pb2.ServicesListResult(items=[SERVICE], total_count=1, page=2, page_size=10)
    ),
    "UserV2Service.GetUser": user_v2_pb2.UserV2ServiceGetUserResponse(
        user=types_pb2.UserDataV2(
            tenant_id="t1",
            user_id="u-1",
            additional_fields=[
                types_pb2.KeyValue(key="team", value="a"),
                types_pb2.KeyValue(key="team", value="b"),
            ],
        )
    ),
}


@dataclass
class Providers:
    address: str = ""
    received: list[tuple[str, Message]] = field(default_factory=list)


def _handler(method: MethodDescriptor, providers: Providers) -> grpc.RpcMethodHandler[Any, Any]:
    request_class = GetMessageClass(method.input_type)
    response_class = GetMessageClass(method.output_type)
    key = f"{method.containing_service.name}.{method.name}"

    async def answer(request: Message, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        providers.received.append((key, request))
        token = dict(context.invocation_metadata() or ()).get(TOKEN_METADATA_KEY, "")
        if isinstance(token, str) and token.startswith("variant:"):
            variant = alga_errors.variant_for_reason(token.removeprefix("variant:"))
            assert variant is not None, token
            await alga_errors.abort_with(context, variant, "scripted")
        if token == "ok" and key in ANSWERS:
            return ANSWERS[key]
        return response_class()

    return grpc.unary_unary_rpc_method_handler(
        answer,
        request_deserializer=request_class.FromString,
        response_serializer=lambda message: message.SerializeToString(),
    )


@asynccontextmanager
async def scripted_providers() -> AsyncIterator[Providers]:
    """The scripted providers, serving on 127.0.0.1 while the block runs."""
    providers = Providers()
    server = grpc.aio.server()
    by_service: dict[str, dict[str, grpc.RpcMethodHandler[Any, Any]]] = {}
    for binding in BINDINGS:
        service = binding.method.containing_service.full_name
        by_service.setdefault(service, {})[binding.method.name] = _handler(
            binding.method, providers
        )
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(name, handlers)
            for name, handlers in by_service.items()
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    providers.address = f"127.0.0.1:{port}"
    try:
        yield providers
    finally:
        await server.stop(None)
