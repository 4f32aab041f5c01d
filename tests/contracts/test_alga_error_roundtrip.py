"""Every Alga error variant survives a real gRPC round trip, both directions.

A grpc.aio server on 127.0.0.1 serves every RPC of every Alga service; each
call aborts with the variant named in its metadata through `abort_with`. The
client checks the status code against docs/contracts.md, reads the ErrorInfo
off the wire, and maps the error back with `variant_from_error`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import grpc.aio
import pytest
from contract_support import markdown_table, methods, services
from google.protobuf import message_factory
from google.protobuf.any_pb2 import Any as AnyProto
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import ErrorInfo
from google.rpc.status_pb2 import Status
from grpc_status import rpc_status

from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import storage_pb2, storage_pb2_grpc, types_pb2

VARIANT_KEY = "x-test-variant"
RAW_STATUS_KEY = "x-test-raw-status-bin"
PLAIN_KEY = "x-test-plain"


def _handler(method: MethodDescriptor) -> grpc.RpcMethodHandler[Any, Any]:
    request = message_factory.GetMessageClass(method.input_type)
    response = message_factory.GetMessageClass(method.output_type)

    async def behave(_request: Message, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
        metadata = dict(context.invocation_metadata() or ())
        if VARIANT_KEY in metadata:
            found = alga_errors.variant_for_reason(str(metadata[VARIANT_KEY]))
            assert found is not None
            await alga_errors.abort_with(context, found, f"test: {found.name}")
        if RAW_STATUS_KEY in metadata:
            raw_bytes = metadata[RAW_STATUS_KEY]
            assert isinstance(raw_bytes, bytes)
            raw = Status.FromString(raw_bytes)
            await context.abort_with_status(rpc_status.to_status(raw))
        if PLAIN_KEY in metadata:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "plain")
        return response()

    return grpc.unary_unary_rpc_method_handler(
        behave,
        request_deserializer=request.FromString,
        response_serializer=lambda message: message.SerializeToString(),
    )


@pytest.fixture
async def address() -> AsyncIterator[str]:
    server = grpc.aio.server()
    for service in services():
        if service.file.package == "alga.extension.v1":
            handlers = {m.name: _handler(m) for m in service.methods}
            server.add_generic_rpc_handlers(
                [grpc.method_handlers_generic_handler(service.full_name, handlers)]
            )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


@pytest.fixture
async def channel(address: str) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(address) as client:
        yield client


def _caller(channel: grpc.aio.Channel, rpc: str) -> Callable[..., Any]:
    method = methods()[rpc]
    request = message_factory.GetMessageClass(method.input_type)
    response = message_factory.GetMessageClass(method.output_type)
    call: grpc.aio.UnaryUnaryMultiCallable[Message, Message] = channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=lambda message: message.SerializeToString(),
        response_deserializer=response.FromString,
    )
    return lambda metadata: call(request(), metadata=metadata, timeout=30)


def _cases() -> list[tuple[str, str, str]]:
    """(reason, documented gRPC code, one RPC documented to return that enum)."""
    rpc_by_enum: dict[str, str] = {}
    for row in markdown_table("WIT functions → RPCs"):
        rpc_by_enum.setdefault(row["error enum"], row["RPC"])
    cases = []
    for row in markdown_table("Error table"):
        enum = "".join(part.capitalize() for part in row["WIT enum"].split("-"))
        cases.append((row["ErrorInfo reason"], row["gRPC code"], rpc_by_enum[enum]))
    return cases


@pytest.mark.parametrize(("reason", "code", "rpc"), _cases())
async def test_variant_round_trips(
    channel: grpc.aio.Channel, reason: str, code: str, rpc: str
) -> None:
    sent = alga_errors.variant_for_reason(reason)
    assert sent is not None
    assert alga_errors.status_for(sent) is grpc.StatusCode[code]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _caller(channel, rpc)(((VARIANT_KEY, reason),))
    err = caught.value

    assert err.code() is grpc.StatusCode[code]
    wire = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert wire is not None
    assert len(wire.details) == 1
    info = ErrorInfo()
    assert wire.details[0].Unpack(info)
    assert (info.reason, info.domain) == (reason, "alga.extension")
    assert alga_errors.variant_from_error(err) is sent


async def test_sync_clients_map_back_too(address: str) -> None:
    reason = "STORAGE_ERROR_CONFLICT"

    def call() -> grpc.RpcError:
        with grpc.insecure_channel(address) as sync_channel:
            stub = storage_pb2_grpc.StorageServiceStub(sync_channel)
            request = storage_pb2.StorageServicePutRequest(entry=types_pb2.StorageEntry(key="k"))
            try:
                stub.Put(request, metadata=((VARIANT_KEY, reason),), timeout=30)
            except grpc.RpcError as err:
                return err
        raise AssertionError("the call succeeded")

    err = await asyncio.to_thread(call)
    assert alga_errors.variant_from_error(err) is alga_errors.variant_for_reason(reason)


def _raw(code: grpc.StatusCode, reason: str, domain: str) -> bytes:
    detail = AnyProto()
    detail.Pack(ErrorInfo(reason=reason, domain=domain))
    return Status(code=code.value[0], message="raw", details=[detail]).SerializeToString()


_DOMAIN = "alga.extension"


@pytest.mark.parametrize(
    ("code", "reason", "domain"),
    [
        pytest.param(grpc.StatusCode.NOT_FOUND, "SECRET_ERROR_MISSING", "example.com", id="domain"),
        pytest.param(grpc.StatusCode.INTERNAL, "SECRET_ERROR_MISSING", _DOMAIN, id="code"),
        pytest.param(grpc.StatusCode.NOT_FOUND, "NO_SUCH_REASON", _DOMAIN, id="reason"),
        pytest.param(grpc.StatusCode.NOT_FOUND, "SECRET_ERROR_UNSPECIFIED", _DOMAIN, id="zero"),
    ],
)
async def test_errors_off_contract_map_to_no_variant(
    channel: grpc.aio.Channel, code: grpc.StatusCode, reason: str, domain: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _caller(channel, "alga.extension.v1.SecretsService.Get")(
            ((RAW_STATUS_KEY, _raw(code, reason, domain)),)
        )
    assert caught.value.code() is code
    assert alga_errors.variant_from_error(caught.value) is None


async def test_plain_status_maps_to_no_variant(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _caller(channel, "alga.extension.v1.SecretsService.List")(((PLAIN_KEY, "1"),))
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert alga_errors.variant_from_error(caught.value) is None
    assert alga_errors.variant_from_error(grpc.RpcError()) is None


def test_only_error_values_are_variants() -> None:
    assert alga_errors.variant(types_pb2.SecretError, types_pb2.SECRET_ERROR_EXPIRED).name == (
        "SECRET_ERROR_EXPIRED"
    )
    with pytest.raises(ValueError, match="SecretError"):
        alga_errors.variant(types_pb2.SecretError, types_pb2.SECRET_ERROR_UNSPECIFIED)
    kind = types_pb2.ServiceItemKind.DESCRIPTOR.values_by_name["SERVICE_ITEM_KIND_SERVICE"]
    with pytest.raises(ValueError, match="not an Alga error variant"):
        alga_errors.status_for(kind)
