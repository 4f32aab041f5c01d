"""The capability matrix, generated from the descriptors: every RPC of every
Alga service with `required_capability`, called over the real wire with the
capability granted (it runs, seeing the install) and without it (the
interface's WIT denial variant per docs/contracts.md, or PERMISSION_DENIED +
CAPABILITY_DENIED; the handler never runs)."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from host_support import (
    ALL_CAPABILITIES,
    AuditLog,
    Recorder,
    error_info,
    serve_host,
    token_metadata,
)
from matrix_support import (
    DOCUMENTED_ERROR_ENUMS,
    HOST_METHODS,
    call_rpc,
    capability_of,
    expected_denial,
)

from extplane.host import InstallTokenIssuer, InstallTokenVerifier, UserClaims
from extplane_client import alga_errors
from extplane_protos.alga.extension.v1 import handler_pb2


def test_the_matrix_covers_every_documented_host_rpc() -> None:
    documented = {rpc for rpc, _ in DOCUMENTED_ERROR_ENUMS.items()}
    handler = handler_pb2.DESCRIPTOR.services_by_name["HandlerService"]
    assert set(HOST_METHODS) == documented - {m.full_name for m in handler.methods}
    assert len(HOST_METHODS) >= 18


@pytest.mark.parametrize("rpc", sorted(HOST_METHODS))
async def test_rpc_runs_with_its_capability_and_is_denied_without(
    rpc: str, issuer: InstallTokenIssuer, verifier: InstallTokenVerifier
) -> None:
    method = HOST_METHODS[rpc]
    capability = capability_of(method)
    assert capability is not None
    with_it = issuer.issue(
        tenant_id="tenant-m",
        extension_id="ext-m",
        install_id="inst-m",
        capabilities=[capability],
        user=UserClaims(user_id="user-m"),  # for the user providers; the others ignore it
    )
    without_it = issuer.issue(
        tenant_id="tenant-m",
        extension_id="ext-m",
        install_id="inst-m",
        capabilities=ALL_CAPABILITIES - {capability},
    )
    recorder, audit = Recorder(), AuditLog()

    async with serve_host(verifier, recorder, audit) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call_rpc(channel, method, token_metadata(without_it))
        assert recorder.calls == []  # refused before the handler
        reply = await call_rpc(channel, method, token_metadata(with_it))

    # One audit event: the refusal (the granted call is not a denial).
    [event] = audit.events
    assert (event.action, event.outcome) == ("capability_deny", "denied")
    assert event.actor == "extension/ext-m@inst-m"
    assert event.namespace == "tenant-m"
    assert event.resource == rpc
    assert event.details["capability"] == capability

    denied = raised.value
    assert denied.code() is grpc.StatusCode.PERMISSION_DENIED
    assert capability in (denied.details() or "")
    info = error_info(denied)
    assert info is not None
    assert (info.reason, info.domain) == expected_denial(method)
    assert info.metadata["capability"] == capability
    if info.domain == alga_errors.ERROR_DOMAIN:
        # The runner maps it back to the WIT variant losslessly.
        found = alga_errors.variant_from_error(denied)
        assert found is not None
        assert found.name == info.reason

    if method.containing_service.name == "ContextService":
        assert reply.context.install_id == "inst-m"  # the real provider
    elif method.containing_service.name in ("UserService", "UserV2Service"):
        assert (reply.user.tenant_id, reply.user.user_id) == ("tenant-m", "user-m")
    else:
        [(name, install)] = recorder.calls
        assert name == rpc
        assert install is not None
        assert install.install_id == "inst-m"


async def test_unannotated_services_pass_through_without_a_token(
    verifier: InstallTokenVerifier,
) -> None:
    recorder = Recorder()
    execute = handler_pb2.DESCRIPTOR.services_by_name["HandlerService"].methods_by_name["Execute"]
    async with serve_host(verifier, recorder) as channel:
        await call_rpc(channel, execute, ())
        health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert recorder.calls == [(execute.full_name, None)]


async def test_a_token_granting_nothing_is_denied_everywhere(
    issuer: InstallTokenIssuer, verifier: InstallTokenVerifier
) -> None:
    """Nothing is granted implicitly: not even context, logging or user (Alga grants those)."""
    token = issuer.issue(tenant_id="t", extension_id="e", install_id="i", capabilities=[])
    recorder = Recorder()
    async with serve_host(verifier, recorder) as channel:
        for method in HOST_METHODS.values():
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await call_rpc(channel, method, token_metadata(token))
            assert raised.value.code() is grpc.StatusCode.PERMISSION_DENIED, method.full_name
    assert recorder.calls == []
