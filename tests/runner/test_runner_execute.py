"""HandlerService.Execute over the wire: authenticated callers only, the tenant from
the token, the context from the registry, dispatched to a gRPC handler (a polyglot
extension) that calls the real host as the install with the token it was passed."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from extplane.runner.handler_metadata import HOST_ADDRESS_KEY, INSTALL_TOKEN_KEY
from extplane.runner.servicer import REQUEST_ID_KEY
from extplane_protos.alga.extension.v1 import types_pb2
from tests.runner.runner_support import (
    DISPATCH_TOKEN,
    GLOBEX_TOKEN,
    NO_TENANT_TOKEN,
    WRONG_ROLE_TOKEN,
    World,
    body_json,
    error_info,
    serve_world,
)

FORGED = types_pb2.ContextData(
    request_id="forged-request",
    tenant_id="globex",
    extension_id="com.evil.ext",
    install_id="inst-1",
    version_id="9.9.9",
)


async def test_the_context_comes_from_the_token_and_the_registry_not_the_client(
    world: World,
) -> None:
    await world.install("acme", "inst-1")

    response, initial = await world.execute(
        None,
        context=FORGED,
        http=types_pb2.HttpRequest(
            method="POST",
            url="/tickets?open=1",
            body=b"{}",
            headers=[
                types_pb2.HttpHeader(name="X-Extplane-Install-Token", value="forged"),
                types_pb2.HttpHeader(name="x-kept", value="yes"),
            ],
        ),
    )

    assert response.status == 201
    seen = body_json(response)
    request_id = initial[REQUEST_ID_KEY]
    filled = {
        "request_id": request_id,
        "tenant_id": "acme",
        "extension_id": "com.example.echo",
        "install_id": "inst-1",
        "version_id": "1.0.0",
    }
    assert seen["context"] == filled
    # The install token the handler got acts as exactly that install at the real host.
    assert seen["host_context"] == filled
    assert request_id != "forged-request"
    assert (seen["method"], seen["url"], seen["body"]) == ("POST", "/tickets?open=1", "{}")
    assert seen["headers"] == [["x-kept", "yes"]]
    [(_, metadata)] = world.handler.calls
    assert metadata[HOST_ADDRESS_KEY] == world.host.address
    assert metadata[INSTALL_TOKEN_KEY]
    assert "authorization" not in metadata  # the caller's credentials stay with the runner


async def test_each_execution_gets_a_fresh_request_id_and_install_token(world: World) -> None:
    await world.install("acme", "inst-1")

    _, first = await world.execute("inst-1")
    _, second = await world.execute("inst-1")

    assert first[REQUEST_ID_KEY] != second[REQUEST_ID_KEY]
    tokens = {metadata[INSTALL_TOKEN_KEY] for _, metadata in world.handler.calls}
    assert len(tokens) == 2


@pytest.mark.parametrize(
    ("token", "code", "words"),
    [
        (None, grpc.StatusCode.UNAUTHENTICATED, "missing bearer token"),
        ("not-a-configured-token-0123", grpc.StatusCode.UNAUTHENTICATED, "unknown bearer token"),
        (WRONG_ROLE_TOKEN, grpc.StatusCode.PERMISSION_DENIED, "extensions.execute"),
        (NO_TENANT_TOKEN, grpc.StatusCode.PERMISSION_DENIED, "names no tenant"),
    ],
)
async def test_callers_without_a_token_the_role_or_a_tenant_are_refused(
    world: World, token: str | None, code: grpc.StatusCode, words: str
) -> None:
    await world.install("acme", "inst-1")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.execute("inst-1", token=token)

    assert refused.value.code() is code
    assert words in (refused.value.details() or "")
    assert world.handler.calls == []


async def test_another_tenants_install_is_not_found_like_an_unknown_one(world: World) -> None:
    await world.install("acme", "inst-1")

    with pytest.raises(grpc.aio.AioRpcError) as other_tenant:
        await world.execute("inst-1", token=GLOBEX_TOKEN, context=FORGED)
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await world.execute("inst-404", token=GLOBEX_TOKEN)

    assert other_tenant.value.code() is grpc.StatusCode.NOT_FOUND
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
    # No oracle: the words are the same but for the id the caller sent.
    assert other_tenant.value.details() == unknown.value.details().replace("inst-404", "inst-1")
    assert world.handler.calls == []


async def test_a_disabled_install_is_not_found(world: World) -> None:
    await world.install("acme", "inst-1")
    await world.disable("acme", "inst-1")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.execute("inst-1")

    assert refused.value.code() is grpc.StatusCode.NOT_FOUND


async def test_a_version_not_uploaded_is_a_failed_precondition(world: World) -> None:
    await world.install("acme", "inst-1", version="2.0.0")

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.execute("inst-1")

    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "'2.0.0'" in (refused.value.details() or "")
    assert "not uploaded" in (refused.value.details() or "")


@pytest.mark.parametrize(
    ("install_id", "http", "field"),
    [
        (None, types_pb2.HttpRequest(method="GET", url="/"), "context.install_id"),
        ("no spaces", types_pb2.HttpRequest(method="GET", url="/"), "context.install_id"),
        ("inst-1", types_pb2.HttpRequest(url="/"), "http.method"),
        (
            "inst-1",
            types_pb2.HttpRequest(method="POST", url="/", body=b"x" * 1025),
            "http.body",
        ),
    ],
)
async def test_bad_requests_are_invalid_arguments_naming_the_field(
    world: World, install_id: str | None, http: types_pb2.HttpRequest, field: str
) -> None:
    await world.install("acme", "inst-1")
    world.runner._servicer._max_request_bytes = 1024  # the cap the settings set

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await world.execute(install_id, http=http)

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (refused.value.details() or "").startswith(f"{field}:")


async def test_a_failing_handler_is_the_extensions_failure_not_the_callers(world: World) -> None:
    await world.install("acme", "inst-1")
    world.handler.fail_with = grpc.StatusCode.PERMISSION_DENIED

    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await world.execute("inst-1")

    assert failed.value.code() is grpc.StatusCode.UNAVAILABLE
    info = error_info(failed.value)
    assert (info.domain, info.reason) == ("extplane.runner", "HANDLER_FAILED")
    assert "PERMISSION_DENIED" in info.metadata["cause"]
    assert "own failure text" not in (failed.value.details() or "")


async def test_a_handler_past_its_timeout_is_deadline_exceeded(world: World) -> None:
    world.registry.add_grpc("com.example.slow", "1.0.0", world.handler_address, timeout_ms=50)
    await world.install("acme", "inst-1", extension_id="com.example.slow")
    world.handler.gate.clear()  # never answers

    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await world.execute("inst-1")
    world.handler.gate.set()

    assert failed.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert error_info(failed.value).reason == "TIMEOUT"
    assert "timeout" in (failed.value.details() or "")


async def test_a_host_that_refuses_the_runners_token_is_unavailable_not_the_callers_fault(
    tmp_path: Path,
) -> None:
    async with serve_world(tmp_path, host_token="not-the-issuer-token-0123") as world:
        await world.install("acme", "inst-1")

        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await world.execute("inst-1")

    assert failed.value.code() is grpc.StatusCode.UNAVAILABLE
    assert "cannot read installs" in (failed.value.details() or "")


async def test_a_dispatching_service_executes_for_the_tenant_each_request_names(
    world: World,
) -> None:
    """`extensions.dispatch` (the host's ui-proxy running an `extension:` route) acts for
    every tenant: the request's `context.tenant_id` picks whose install runs, and only
    that tenant's — the same install id of another tenant is another install."""
    await world.install("acme", "inst-1")
    response, _ = await world.execute(
        "inst-1", token=DISPATCH_TOKEN, context=types_pb2.ContextData(tenant_id="acme")
    )
    assert body_json(response)["context"]["tenant_id"] == "acme"

    with pytest.raises(grpc.aio.AioRpcError) as other:
        await world.execute(
            "inst-1", token=DISPATCH_TOKEN, context=types_pb2.ContextData(tenant_id="globex")
        )
    assert other.value.code() is grpc.StatusCode.NOT_FOUND

    for tenant in ("", "acme/../globex"):
        with pytest.raises(grpc.aio.AioRpcError) as unnamed:
            await world.execute(
                "inst-1", token=DISPATCH_TOKEN, context=types_pb2.ContextData(tenant_id=tenant)
            )
        assert unnamed.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "context.tenant_id" in (unnamed.value.details() or "")


async def test_a_tenant_scoped_token_ignores_the_tenant_a_request_names(world: World) -> None:
    await world.install("acme", "inst-1")
    response, _ = await world.execute("inst-1", context=types_pb2.ContextData(tenant_id="globex"))
    assert body_json(response)["context"]["tenant_id"] == "acme"
