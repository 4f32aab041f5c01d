"""The interceptor answers by itself on a bare grpc.aio server (no kit around
it), for a unary and for a streaming handler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest
from host_support import error_info, token_metadata

from extplane.host import (
    CAPABILITY_DENIED,
    CapabilityEnforcement,
    HostProviders,
    InstallTokenIssuer,
    InstallTokenVerifier,
    Requirement,
    current_install,
)
from extplane.host.contract import HOST_REQUIREMENTS
from extplane_protos.alga.extension.v1 import context_pb2, context_pb2_grpc

STREAM = Requirement(service="test.Streams", method="Watch", capability="cap:watch", denial=None)


async def _watch(
    request: bytes, context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[bytes]:
    for index in range(3):
        yield f"{current_install().install_id}:{index}".encode()


@pytest.fixture
async def channel(verifier: InstallTokenVerifier) -> AsyncIterator[grpc.aio.Channel]:
    requirements = {**HOST_REQUIREMENTS, STREAM.path: STREAM}
    server = grpc.aio.server(interceptors=[CapabilityEnforcement(verifier, requirements)])
    HostProviders().add_to_server(server)
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                STREAM.service, {STREAM.method: grpc.unary_stream_rpc_method_handler(_watch)}
            )
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as client:
            yield client
    finally:
        await server.stop(None)


async def test_unary_refusals_and_success_without_the_kit(
    channel: grpc.aio.Channel, issuer: InstallTokenIssuer
) -> None:
    stub = context_pb2_grpc.ContextServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetContext(context_pb2.GetContextRequest())
    no_caps = issuer.issue(tenant_id="t", extension_id="e", install_id="i", capabilities=[])
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stub.GetContext(context_pb2.GetContextRequest(), metadata=token_metadata(no_caps))
    granted = issuer.issue(
        tenant_id="t", extension_id="e", install_id="i", capabilities=["cap:context.read"]
    )
    reply = await stub.GetContext(context_pb2.GetContextRequest(), metadata=token_metadata(granted))

    assert missing.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
    info = error_info(denied.value)
    assert info is not None
    assert info.reason == CAPABILITY_DENIED
    assert reply.context.install_id == "i"


async def test_a_streaming_host_rpc_is_enforced_too(
    channel: grpc.aio.Channel, issuer: InstallTokenIssuer
) -> None:
    watch = channel.unary_stream(STREAM.path)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        async for _ in watch(b""):
            pass
    other = issuer.issue(tenant_id="t", extension_id="e", install_id="i", capabilities=["cap:x"])
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        async for _ in watch(b"", metadata=token_metadata(other)):
            pass
    token = issuer.issue(
        tenant_id="t", extension_id="e", install_id="w", capabilities=["cap:watch"]
    )
    received = [item async for item in watch(b"", metadata=token_metadata(token))]

    assert missing.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert received == [b"w:0", b"w:1", b"w:2"]
