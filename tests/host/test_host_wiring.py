"""The host as `extplane up` hosts it: the registry issues install tokens, the
host providers on the same port accept them, and hosts elsewhere verify them
with the JWKS the gateway publishes.

Over real channels: register, issue (with an `installs.issuer` token), call
ContextService.GetContext with the token; a missing capability; a disabled
install, on this replica at once and on a second replica sharing the store
within the refresh bound (its clock and refresh driven by the test, no
sleeps); the JWKS verifying the token with pyjwt; who may not issue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import jwt
import pytest
import pytest_asyncio
from host_support import ADMIN_TOKEN, AUTH, READER_TOKEN, error_info, token_metadata
from prometheus_client import CollectorRegistry

from extplane.config import Settings
from extplane.host.config import HostSettings
from extplane.host.denial import CAPABILITY_DENIED
from extplane.host.service import HostService
from extplane.runtime import GrpcServer, Metrics
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane.suite import Suite, ephemeral_ports
from extplane_client import InstallsClient, InstallsError
from extplane_protos.alga.extension.v1 import context_pb2, context_pb2_grpc
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb

ISSUER_TOKEN = "installs-issuer-token-0123456789"
EVERYTHING_TOKEN = "everything-token-0123456789abc"
WIRING_AUTH = {
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
            "auth": WIRING_AUTH,
            "metrics": {"enabled": False},
            "gateway": {"port": 0},
            **ephemeral_ports(),
        }
    )
    async with Suite(settings, metrics=Metrics()) as running:
        yield running


def _host(suite: Suite) -> str:
    return suite.servers["host"].address


async def _register(suite: Suite, install_id: str, capabilities: list[str]) -> None:
    async with InstallsClient(_host(suite), token=ADMIN_TOKEN) as admin:
        await admin.register_install(
            tenant="acme",
            install_id=install_id,
            extension_id="com.example.tickets",
            version="1.2.0",
            granted_capabilities=capabilities,
        )


async def _issue(suite: Suite, install_id: str, **fields: object) -> pb.IssueInstallTokenResponse:
    async with InstallsClient(_host(suite), token=ISSUER_TOKEN) as issuer:
        return await issuer.issue_install_token(tenant="acme", install_id=install_id, **fields)  # type: ignore[arg-type]


async def _context(address: str, token: str) -> context_pb2.GetContextResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = context_pb2_grpc.ContextServiceStub(channel)
        answer: context_pb2.GetContextResponse = await stub.GetContext(
            context_pb2.GetContextRequest(), metadata=token_metadata(token), timeout=10
        )
        return answer


@on_the_suite_loop
async def test_an_issued_token_reads_its_install_context_on_the_host_port(suite: Suite) -> None:
    await _register(suite, "ctx-1", ["cap:context.read"])
    issued = await _issue(
        suite, "ctx-1", request_id="req-42", user=pb.InstallTokenUser(user_id="u-7")
    )
    assert issued.key_id
    assert issued.expire_time.seconds > 0

    answer = await _context(_host(suite), issued.token)

    ctx = answer.context
    assert (ctx.tenant_id, ctx.extension_id, ctx.install_id, ctx.version_id, ctx.request_id) == (
        "acme",
        "com.example.tickets",
        "ctx-1",
        "1.2.0",
        "req-42",
    )


@on_the_suite_loop
async def test_an_install_not_granted_context_read_is_denied(suite: Suite) -> None:
    await _register(suite, "noctx-1", ["cap:log.emit"])
    issued = await _issue(suite, "noctx-1")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _context(_host(suite), issued.token)

    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    info = error_info(caught.value)
    assert info is not None
    assert info.reason == CAPABILITY_DENIED


@on_the_suite_loop
async def test_disabling_an_install_stops_its_token_on_this_replica_at_once(
    suite: Suite,
) -> None:
    await _register(suite, "off-1", ["cap:context.read"])
    issued = await _issue(suite, "off-1")
    assert (await _context(_host(suite), issued.token)).context.install_id == "off-1"

    async with InstallsClient(_host(suite), token=ADMIN_TOKEN) as admin:
        await admin.disable_install(tenant="acme", install_id="off-1")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _context(_host(suite), issued.token)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "disabled" in (caught.value.details() or "")

    with pytest.raises(InstallsError) as refused:
        await _issue(suite, "off-1")
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@on_the_suite_loop
async def test_another_replica_refuses_a_disabled_install_within_the_bound(
    suite: Suite, tmp_path: Path
) -> None:
    """A second host sharing the store and the key ring: it sees the disable at
    its next refresh, and refuses everything once its snapshot is too old."""
    host = suite.servers["host"].definition
    assert isinstance(host, HostService)
    settings = HostSettings(
        port=0,
        database_url=f"sqlite:{suite.settings.data_dir / 'host.db'}",
        token_key_dir=host.token_key_dir,
    )
    kit = ServiceKit.for_directory(
        tmp_path, auth=AuthSettings.model_validate(WIRING_AUTH), registry=CollectorRegistry()
    )
    clock = _Clock()
    replica = HostService(settings, kit, enabled_clock=clock)
    server = GrpcServer(
        replica, host="127.0.0.1", port=0, shutdown_grace_s=0, interceptors=replica.interceptors
    )
    await server.start()
    try:
        await _register(suite, "off-2", ["cap:context.read"])
        issued = await _issue(suite, "off-2")
        assert (await _context(server.address, issued.token)).context.install_id == "off-2"

        async with InstallsClient(_host(suite), token=ADMIN_TOKEN) as admin:
            await admin.disable_install(tenant="acme", install_id="off-2")
        # Not yet refreshed: within the bound the replica may still serve it.
        assert (await _context(server.address, issued.token)).context.install_id == "off-2"

        clock.now += settings.enabled_refresh_s
        await replica.enabled.refresh()  # what its refresher does every enabled_refresh_s
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _context(server.address, issued.token)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED

        # A snapshot older than twice the refresh interval fails closed.
        await _register(suite, "on-3", ["cap:context.read"])
        fresh = await _issue(suite, "on-3")
        assert (await _context(server.address, fresh.token)).context.install_id == "on-3"
        clock.now += 2 * settings.enabled_refresh_s + 0.01
        with pytest.raises(grpc.aio.AioRpcError) as stale:
            await _context(server.address, fresh.token)
        assert stale.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await server.stop(0)


@on_the_suite_loop
async def test_the_gateways_jwks_verifies_a_token_with_pyjwt(suite: Suite) -> None:
    await _register(suite, "jwks-1", ["cap:context.read", "cap:log.emit"])
    issued = await _issue(suite, "jwks-1", request_id="req-9")
    assert suite.gateway is not None

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{suite.gateway.port}") as http:
        answer = await http.get("/v1/admin/jwks.json")  # no bearer token: public keys

    assert answer.status_code == 200, answer.text
    jwks = answer.json()
    (key,) = jwks["keys"]
    assert {k: key[k] for k in ("kty", "crv", "alg", "use")} == {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
    }
    assert key["kid"] == issued.key_id
    # As a host in another language would: pick the key by kid, verify.
    header = jwt.get_unverified_header(issued.token)
    public = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims = jwt.decode(issued.token, public, algorithms=["EdDSA"], audience="extplane-host")
    assert claims["iss"] == "extplane"
    assert claims["exp"] == issued.expire_time.seconds
    assert claims["request_id"] == "req-9"
    assert set(claims["caps"]) == {"cap:context.read", "cap:log.emit"}


@on_the_suite_loop
async def test_only_the_issuer_role_may_issue(suite: Suite) -> None:
    await _register(suite, "who-1", ["cap:context.read"])
    for token, code in (
        (ADMIN_TOKEN, grpc.StatusCode.PERMISSION_DENIED),
        (READER_TOKEN, grpc.StatusCode.PERMISSION_DENIED),
        (None, grpc.StatusCode.UNAUTHENTICATED),
        ("forged-issuer-token-0123456789", grpc.StatusCode.UNAUTHENTICATED),
    ):
        async with InstallsClient(_host(suite), token=token) as client:
            with pytest.raises(InstallsError) as refused:
                await client.issue_install_token(tenant="acme", install_id="who-1")
        assert refused.value.code == code, token

    with pytest.raises(InstallsError) as missing:
        await _issue(suite, "nobody")
    assert missing.value.code == grpc.StatusCode.NOT_FOUND


@on_the_suite_loop
async def test_issuing_over_http_and_bad_input(suite: Suite) -> None:
    await _register(suite, "http-1", ["cap:context.read"])
    assert suite.gateway is not None
    headers = {"authorization": f"Bearer {ISSUER_TOKEN}"}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{suite.gateway.port}", headers=headers
    ) as http:
        made = await http.post(
            "/v1/admin/tenants/acme/installs/http-1:issueToken", json={"requestId": "r-1"}
        )
        no_user_id = await http.post(
            "/v1/admin/tenants/acme/installs/http-1:issueToken", json={"user": {"userName": "x"}}
        )
    assert made.status_code == 200, made.text
    assert (await _context(_host(suite), made.json()["token"])).context.request_id == "r-1"
    assert no_user_id.status_code == 400
    assert "user.user_id" in no_user_id.text
