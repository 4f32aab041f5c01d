"""Bad register and update requests over a real gRPC channel: INVALID_ARGUMENT
naming the field, nothing stored; random input never gets another answer."""

from __future__ import annotations

import grpc
import pytest
from host_support import ADMIN_TOKEN, Registry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extplane_client import InstallsError
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb
from extplane_protos.extplane.admin.v1 import installs_pb2_grpc

AUTHORIZATION = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
_VALID = {"tenant": "acme", "install_id": "i-1", "extension_id": "com.example.x", "version": "1"}


async def _register_raw(registry: Registry, request: pb.RegisterInstallRequest) -> None:
    stub = installs_pb2_grpc.InstallRegistryServiceStub(registry.channel)
    await stub.RegisterInstall(request, metadata=AUTHORIZATION, timeout=10)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tenant": ""}, "tenant"),
        ({"tenant": "t" * 129}, "tenant"),
        ({"install_id": "has space"}, "install_id"),
        ({"extension_id": "bad\u0001id"}, "extension_id"),
        ({"version": "1.0 beta"}, "version"),
        ({"granted_capabilities": ["cap:log.emit", "cap:log.emit"]}, "granted_capabilities[1]"),
        ({"granted_capabilities": ["CAP:LOG.EMIT"]}, "granted_capabilities[0]"),
        ({"egress_allowlist": ["ftp://example.com"]}, "egress_allowlist[0]"),
        ({"egress_allowlist": [f"h{n}.example.com" for n in range(257)]}, "egress_allowlist"),
        (
            {"ui_proxy_routes": [pb.UiProxyRoute(route="r", upstream_url="ftp://x")]},
            "ui_proxy_routes[0].upstream_url",
        ),
        (
            {
                "ui_proxy_routes": [
                    pb.UiProxyRoute(route="r", upstream_url="https://a"),
                    pb.UiProxyRoute(route="r", upstream_url="https://b"),
                ]
            },
            "ui_proxy_routes[1].route",
        ),
        ({"ui_proxy_routes": [pb.UiProxyRoute(route="r")]}, "ui_proxy_routes[0].upstream_url"),
        ({"limits": pb.InstallLimits(storage_bytes=-1)}, "limits.storage_bytes"),
        ({"limits": pb.InstallLimits(storage_value_bytes=2**25)}, "limits.storage_value_bytes"),
    ],
)
async def test_a_bad_register_names_the_field_and_stores_nothing(
    registry: Registry, change: dict[str, object], field: str
) -> None:
    request = pb.RegisterInstallRequest(**{**_VALID, **change})  # type: ignore[arg-type]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _register_raw(registry, request)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    async with registry.client() as client:
        with pytest.raises(InstallsError) as detailed:
            await client.register_install(**{**_VALID, **_client_args(change)})  # type: ignore[arg-type]
        assert field in detailed.value.field_violations, detailed.value.field_violations
        assert [i async for i in client.iter_installs()] == []


def _client_args(change: dict[str, object]) -> dict[str, object]:
    if "ui_proxy_routes" in change:
        routes = change["ui_proxy_routes"]
        assert isinstance(routes, list)
        return {"ui_proxy_routes": [(r.route, r.upstream_url) for r in routes]}
    return change


async def test_a_bad_update_names_the_field_and_changes_nothing(registry: Registry) -> None:
    async with registry.client() as client:
        made = await client.register_install(**_VALID)  # type: ignore[arg-type]
        for kwargs, field in (
            ({"granted_capabilities": ["cap:nope"]}, "granted_capabilities.capabilities[0]"),
            ({"egress_allowlist": ["*.*"]}, "egress_allowlist.entries[0]"),
            ({"version": ""}, "version"),
            ({"revision": 0}, "revision"),
        ):
            args = {"tenant": "acme", "install_id": "i-1", "revision": 1, **kwargs}
            with pytest.raises(InstallsError) as refused:
                await client.update_install(**args)  # type: ignore[arg-type]
            assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
            assert field in refused.value.field_violations
        assert await client.get_install(tenant="acme", install_id="i-1") == made


_TEXT = st.text(max_size=80)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    tenant=_TEXT,
    install_id=_TEXT,
    extension_id=_TEXT,
    version=_TEXT,
    capabilities=st.lists(_TEXT | st.just("cap:storage.kv"), max_size=3),
    egress=st.lists(_TEXT, max_size=3),
    route=_TEXT,
    upstream=_TEXT,
)
async def test_random_registers_are_stored_or_refused_never_anything_else(
    registry: Registry,
    tenant: str,
    install_id: str,
    extension_id: str,
    version: str,
    capabilities: list[str],
    egress: list[str],
    route: str,
    upstream: str,
) -> None:
    request = pb.RegisterInstallRequest(
        tenant=tenant,
        install_id=install_id,
        extension_id=extension_id,
        version=version,
        granted_capabilities=capabilities,
        egress_allowlist=egress,
        ui_proxy_routes=[pb.UiProxyRoute(route=route, upstream_url=upstream)],
    )
    code = grpc.StatusCode.OK
    try:
        await _register_raw(registry, request)
    except grpc.aio.AioRpcError as error:
        code = error.code()
    assert code in (
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.ALREADY_EXISTS,
    )
