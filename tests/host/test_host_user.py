"""`user.get-user` and `user-v2.get-user` over the real wire, answered from the
install token's user claims.

As `extplane up` hosts them: register an install, issue its token through the
registry (with and without a user), call both providers on the host port with
the token (additional fields too, issued in the platform's order). And against
a bare host server with tokens signed directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from host_support import ADMIN_TOKEN, AUTH, error_info, serve_host, token_metadata

from extplane.config import Settings
from extplane.host import InstallTokenIssuer, InstallTokenVerifier, UserClaims
from extplane.runtime import Metrics
from extplane.suite import Suite, ephemeral_ports
from extplane_client import InstallsClient, InstallsError, alga_errors
from extplane_protos.alga.extension.v1 import (
    types_pb2,
    user_pb2,
    user_pb2_grpc,
    user_v2_pb2,
    user_v2_pb2_grpc,
)
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb

ISSUER_TOKEN = "installs-issuer-token-0123456789"
USER_AUTH = {
    "tokens": [
        *AUTH["tokens"],
        {"name": "runner", "token": ISSUER_TOKEN, "roles": ["installs.issuer"]},
    ]
}
on_the_suite_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def suite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Suite]:
    settings = Settings.model_validate(
        {
            "data_dir": tmp_path_factory.mktemp("data"),
            "auth": USER_AUTH,
            "metrics": {"enabled": False},
            "gateway": {"port": 0},
            **ephemeral_ports(),
        }
    )
    async with Suite(settings, metrics=Metrics()) as running:
        yield running


async def _token(suite: Suite, install_id: str, capabilities: list[str], **fields: object) -> str:
    host = suite.servers["host"].address
    async with InstallsClient(host, token=ADMIN_TOKEN) as admin:
        await admin.register_install(
            tenant="acme",
            install_id=install_id,
            extension_id="com.example.tickets",
            version="1.2.0",
            granted_capabilities=capabilities,
        )
    async with InstallsClient(host, token=ISSUER_TOKEN) as issuer:
        issued = await issuer.issue_install_token(tenant="acme", install_id=install_id, **fields)  # type: ignore[arg-type]
    return issued.token


async def _both(
    channel: grpc.aio.Channel, token: str
) -> tuple[types_pb2.UserData, types_pb2.UserDataV2]:
    v1 = await user_pb2_grpc.UserServiceStub(channel).GetUser(
        user_pb2.UserServiceGetUserRequest(), metadata=token_metadata(token), timeout=10
    )
    v2 = await user_v2_pb2_grpc.UserV2ServiceStub(channel).GetUser(
        user_v2_pb2.UserV2ServiceGetUserRequest(), metadata=token_metadata(token), timeout=10
    )
    return v1.user, v2.user


async def _refusals(channel: grpc.aio.Channel, token: str) -> list[grpc.aio.AioRpcError]:
    """Both providers' refusals of `token` (each call must fail)."""
    calls = (
        lambda: user_pb2_grpc.UserServiceStub(channel).GetUser(
            user_pb2.UserServiceGetUserRequest(), metadata=token_metadata(token), timeout=10
        ),
        lambda: user_v2_pb2_grpc.UserV2ServiceStub(channel).GetUser(
            user_v2_pb2.UserV2ServiceGetUserRequest(), metadata=token_metadata(token), timeout=10
        ),
    )
    refused = []
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call()
        refused.append(caught.value)
    return refused


@on_the_suite_loop
async def test_an_issued_tokens_user_is_what_both_providers_answer(suite: Suite) -> None:
    token = await _token(
        suite,
        "user-1",
        ["cap:user.read"],
        user=pb.InstallTokenUser(
            user_id="u-7",
            user_name="Ada Lovelace",
            user_email="ada@example.com",
            user_type="client",
            client_name="Analytical Engines",
            client_id="client-3",
        ),
    )
    async with grpc.aio.insecure_channel(suite.servers["host"].address) as channel:
        v1, v2 = await _both(channel, token)

    expected = ("acme", "u-7", "Ada Lovelace", "ada@example.com", "client", "Analytical Engines")
    for user in (v1, v2):
        assert (
            user.tenant_id,
            user.user_id,
            user.user_name,
            user.user_email,
            user.user_type,
            user.client_name,
        ) == expected
    assert v2.client_id == "client-3"
    assert list(v2.additional_fields) == []


@on_the_suite_loop
async def test_issued_additional_fields_reach_user_v2_sorted_by_key(suite: Suite) -> None:
    platform_order = [("zone", "eu"), ("account", "A-2"), ("role", ""), ("account", "A-1")]
    token = await _token(
        suite,
        "user-fields",
        ["cap:user.read"],
        user=pb.InstallTokenUser(
            user_id="u-8",
            additional_fields=[pb.InstallTokenUserField(key=k, value=v) for k, v in platform_order],
        ),
    )
    async with grpc.aio.insecure_channel(suite.servers["host"].address) as channel:
        _, v2 = await _both(channel, token)

    assert [(f.key, f.value) for f in v2.additional_fields] == [
        ("account", "A-2"),  # a repeated key keeps the platform's order
        ("account", "A-1"),
        ("role", ""),
        ("zone", "eu"),
    ]


@on_the_suite_loop
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ([("k", "v")] * 65, "user.additional_fields"),
        ([("", "v")], "user.additional_fields[0].key"),
        ([("k" * 129, "v")], "user.additional_fields[0].key"),
        ([("k", "v" * 1025)], "user.additional_fields[0].value"),
        ([("k", "line\nbreak")], "user.additional_fields[0].value"),
    ],
)
async def test_additional_fields_are_bounded(
    suite: Suite, fields: list[tuple[str, str]], field: str
) -> None:
    host = suite.servers["host"].address
    install_id = f"user-bounds-{len(fields)}-{len(fields[0][0])}-{len(fields[0][1])}"
    async with InstallsClient(host, token=ADMIN_TOKEN) as admin:
        await admin.register_install(
            tenant="acme",
            install_id=install_id,
            extension_id="com.example.tickets",
            version="1.2.0",
            granted_capabilities=["cap:user.read"],
        )
    user = pb.InstallTokenUser(
        user_id="u-1",
        additional_fields=[pb.InstallTokenUserField(key=k, value=v) for k, v in fields],
    )
    async with InstallsClient(host, token=ISSUER_TOKEN) as issuer:
        with pytest.raises(InstallsError) as refused:
            await issuer.issue_install_token(tenant="acme", install_id=install_id, user=user)
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert field in refused.value.field_violations, refused.value.field_violations


@on_the_suite_loop
async def test_a_user_without_a_client_has_no_client_id(suite: Suite) -> None:
    token = await _token(suite, "user-2", ["cap:user.read"], user=pb.InstallTokenUser(user_id="u"))
    async with grpc.aio.insecure_channel(suite.servers["host"].address) as channel:
        v1, v2 = await _both(channel, token)

    assert (v1.user_id, v2.user_id) == ("u", "u")
    assert not v2.HasField("client_id")


@on_the_suite_loop
async def test_a_token_without_a_user_is_not_available(suite: Suite) -> None:
    token = await _token(suite, "nouser-1", ["cap:user.read"], request_id="scheduled-run")
    async with grpc.aio.insecure_channel(suite.servers["host"].address) as channel:
        refused = await _refusals(channel, token)

    for error in refused:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        found = alga_errors.variant_from_error(error)
        assert found is not None
        assert found.type.full_name == "alga.extension.v1.UserError"
        assert found.number == types_pb2.USER_ERROR_NOT_AVAILABLE


@on_the_suite_loop
async def test_an_install_not_granted_user_read_gets_the_user_denial(suite: Suite) -> None:
    token = await _token(
        suite, "nouserread-1", ["cap:context.read"], user=pb.InstallTokenUser(user_id="u-1")
    )
    async with grpc.aio.insecure_channel(suite.servers["host"].address) as channel:
        refused = await _refusals(channel, token)

    for error in refused:
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        found = alga_errors.variant_from_error(error)
        assert found is not None
        assert (found.type.full_name, found.number) == (
            "alga.extension.v1.UserError",
            types_pb2.USER_ERROR_NOT_ALLOWED,
        )
        info = error_info(error)
        assert info is not None
        assert info.metadata["capability"] == "cap:user.read"
        # The user's fields never leak into a refusal.
        assert "u-1" not in (error.details() or "")


async def test_user_v2_sorts_additional_fields_by_key(
    issuer: InstallTokenIssuer, verifier: InstallTokenVerifier
) -> None:
    platform_order = (("zone", "eu"), ("account", "A-1"), ("role", "admin"), ("account", "A-2"))
    token = issuer.issue(
        tenant_id="t",
        extension_id="e",
        install_id="i",
        capabilities=["cap:user.read"],
        user=UserClaims(user_id="u-9", additional_fields=platform_order),
    )
    async with serve_host(verifier) as channel:
        v1, v2 = await _both(channel, token)

    assert [(f.key, f.value) for f in v2.additional_fields] == [
        ("account", "A-1"),
        ("account", "A-2"),  # a repeated key keeps the platform's order
        ("role", "admin"),
        ("zone", "eu"),
    ]
    assert (v1.user_id, v1.tenant_id) == ("u-9", "t")
