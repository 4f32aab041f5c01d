"""`context.get-context` over the real wire, answered from the install token alone."""

from __future__ import annotations

import grpc
import pytest
from host_support import serve_host, token_metadata

from extplane.host import HostProviders, InstallTokenIssuer, InstallTokenVerifier
from extplane.runtime import GrpcServer
from extplane_protos.alga.extension.v1 import context_pb2, context_pb2_grpc


async def test_get_context_answers_the_tokens_execution(
    issuer: InstallTokenIssuer, verifier: InstallTokenVerifier
) -> None:
    token = issuer.issue(
        tenant_id="tenant-a",
        extension_id="com.example.ext",
        install_id="inst-1",
        version_id="1.4.2",
        request_id="req-77",
        capabilities=["cap:context.read"],
    )
    async with serve_host(verifier) as channel:
        stub = context_pb2_grpc.ContextServiceStub(channel)
        reply = await stub.GetContext(
            context_pb2.GetContextRequest(), metadata=token_metadata(token)
        )

    data = reply.context
    assert (data.tenant_id, data.extension_id, data.install_id) == (
        "tenant-a",
        "com.example.ext",
        "inst-1",
    )
    assert data.version_id == "1.4.2"
    assert data.request_id == "req-77"


async def test_optional_fields_are_absent_when_the_token_has_none(
    issuer: InstallTokenIssuer, verifier: InstallTokenVerifier
) -> None:
    token = issuer.issue(
        tenant_id="t", extension_id="e", install_id="i", capabilities=["cap:context.read"]
    )
    async with serve_host(verifier) as channel:
        reply = await context_pb2_grpc.ContextServiceStub(channel).GetContext(
            context_pb2.GetContextRequest(), metadata=token_metadata(token)
        )

    assert not reply.context.HasField("request_id")
    assert not reply.context.HasField("version_id")
    assert reply.context.install_id == "i"


async def test_two_installs_each_see_their_own_context(
    issuer: InstallTokenIssuer, verifier: InstallTokenVerifier
) -> None:
    tokens = {
        tenant: issuer.issue(
            tenant_id=tenant,
            extension_id="e",
            install_id=f"{tenant}-i",
            capabilities=["cap:context.read"],
        )
        for tenant in ("a", "b")
    }
    async with serve_host(verifier) as channel:
        stub = context_pb2_grpc.ContextServiceStub(channel)
        for tenant, token in tokens.items():
            reply = await stub.GetContext(
                context_pb2.GetContextRequest(), metadata=token_metadata(token)
            )
            assert (reply.context.tenant_id, reply.context.install_id) == (tenant, f"{tenant}-i")


async def test_servicer_without_the_interceptor_fails_closed() -> None:
    """Served without enforcement, the servicer refuses rather than guess an install."""
    server = GrpcServer(HostProviders(), host="127.0.0.1", port=0, shutdown_grace_s=0)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await context_pb2_grpc.ContextServiceStub(channel).GetContext(
                    context_pb2.GetContextRequest()
                )
    finally:
        await server.stop(0)

    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
