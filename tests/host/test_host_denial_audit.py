"""A refused capability reaches the audit service through the real GrpcAuditSink."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from host_support import serve_host, token_metadata

from extplane.host import InstallTokenIssuer, InstallTokenVerifier
from extplane_client import GrpcAuditSink
from extplane_protos.alga.extension.v1 import secrets_pb2, secrets_pb2_grpc
from tests.adapter.sinks import FAST, WAIT_S, SinkLog, serve_audit


async def test_a_denial_is_delivered_as_an_audit_event(
    issuer: InstallTokenIssuer, verifier: InstallTokenVerifier
) -> None:
    token = issuer.issue(
        tenant_id="tenant-q",
        extension_id="ext-q",
        install_id="inst-q",
        request_id="req-q",
        capabilities=["cap:context.read"],
    )
    log = SinkLog()
    with serve_audit(log) as address:
        sink = GrpcAuditSink(address, options=FAST)
        try:
            async with serve_host(verifier, audit=sink) as channel:
                with pytest.raises(grpc.aio.AioRpcError) as raised:
                    await secrets_pb2_grpc.SecretsServiceStub(channel).Get(
                        secrets_pb2.SecretsServiceGetRequest(key="api-key"),
                        metadata=token_metadata(token),
                    )
            assert await asyncio.to_thread(sink.flush, WAIT_S)
        finally:
            sink.close(WAIT_S)

    assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED
    [event] = log.stored
    assert event.action == "capability_deny"
    assert event.outcome == "denied"
    assert event.actor == "extension/ext-q@inst-q"
    assert event.resource == "alga.extension.v1.SecretsService.Get"
    assert event.namespace == "tenant-q"
    assert dict(event.details) | {"token_id": ""} == {
        "capability": "cap:secrets.get",
        "extension": "ext-q",
        "install": "inst-q",
        "request_id": "req-q",
        "token_id": "",
    }
    assert event.details["token_id"]
    assert event.event_id
