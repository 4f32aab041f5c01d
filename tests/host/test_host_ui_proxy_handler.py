"""ui-proxy routes whose upstream is another install's handler
(`extension:<install id>`): the host asks the runner's HandlerService, here a
real gRPC HandlerService on loopback standing in for the runner."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from host_support import ADMIN_TOKEN
from real_host import serve_real_host
from ui_proxy_support import CAPS, call, refused, route, variant

from extplane_client import InstallsClient
from extplane_protos.alga.extension.v1 import handler_pb2, handler_pb2_grpc

TENANT = "tenant-h"
RUNNER_TOKEN = "runner-bearer-0123456789abcdef"


@dataclass
class FakeRunner(handler_pb2_grpc.HandlerServiceServicer):
    """Records each ExecuteRequest and its metadata; answers `status` and `body`."""

    status: int = 200
    body: bytes = b"handled"
    fail: grpc.StatusCode | None = None
    requests: list[handler_pb2.ExecuteRequest] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)

    async def Execute(  # noqa: N802
        self, request: handler_pb2.ExecuteRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> handler_pb2.ExecuteResponse:
        self.requests.append(request)
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata() or ()})
        if self.fail is not None:
            await context.abort(self.fail, "the handler crashed")
        return handler_pb2.ExecuteResponse(status=self.status, body=self.body)


@asynccontextmanager
async def serve_runner(runner: FakeRunner) -> AsyncIterator[str]:
    server = grpc.aio.server()
    handler_pb2_grpc.add_HandlerServiceServicer_to_server(runner, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(0)


async def test_an_extension_upstream_is_executed_by_the_runner(
    database_url: str, tmp_path: Path
) -> None:
    runner = FakeRunner(body=b'{"from": "target"}')
    async with (
        serve_runner(runner) as address,
        serve_real_host(
            database_url, tmp_path / "data", runner_address=address, runner_token=RUNNER_TOKEN
        ) as host,
    ):
        await host.install(TENANT, "target", [])
        md = await host.install(
            TENANT,
            "caller",
            CAPS,
            ui_proxy_routes=[route("tickets", "extension:target")],
            request_id="req-h",
        )
        got = await call(host, md, "tickets/open?limit=5")
        posted = await call(host, md, "tickets", b"new ticket")

    assert got.payload == posted.payload == b'{"from": "target"}'
    first, second = runner.requests
    context = first.context
    assert (context.tenant_id, context.install_id, context.extension_id, context.version_id) == (
        TENANT,
        "target",
        "com.example.target",
        "1.0.0",
    )
    assert context.request_id == "req-h"
    assert (first.http.method, first.http.url, first.http.HasField("body")) == (
        "GET",
        "/open?limit=5",
        False,
    )
    headers = {h.name: h.value for h in first.http.headers}
    assert (headers["x-extplane-tenant"], headers["x-extplane-install"]) == (TENANT, "caller")
    assert headers["x-extplane-extension"] == "com.example.caller"
    assert (second.http.method, second.http.url, second.http.body) == ("POST", "/", b"new ticket")
    assert all(m.get("authorization") == f"Bearer {RUNNER_TOKEN}" for m in runner.metadata)
    # The caller's install token never reaches the target.
    assert not any("x-extplane-install-token" in m for m in runner.metadata)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(403, "PROXY_ERROR_DENIED"), (404, "PROXY_ERROR_BAD_REQUEST"), (500, "PROXY_ERROR_INTERNAL")],
)
async def test_a_handlers_status_maps_like_an_http_upstreams(
    status: int, expected: str, database_url: str, tmp_path: Path
) -> None:
    runner = FakeRunner(status=status)
    async with (
        serve_runner(runner) as address,
        serve_real_host(database_url, tmp_path / "data", runner_address=address) as host,
    ):
        await host.install(TENANT, "target", [])
        md = await host.install(
            TENANT, "caller", CAPS, ui_proxy_routes=[route("t", "extension:target")]
        )
        error = await refused(host, md, "t")
    assert variant(error) == expected


async def test_an_extension_upstream_never_crosses_tenants_and_fails_clearly(
    database_url: str, tmp_path: Path
) -> None:
    runner = FakeRunner(fail=grpc.StatusCode.UNAVAILABLE)
    async with (
        serve_runner(runner) as address,
        serve_real_host(database_url, tmp_path / "data", runner_address=address) as host,
    ):
        # "target" exists only in another tenant.
        await host.install("tenant-other", "target", [])
        await host.install(TENANT, "crashes", [])
        await host.install(TENANT, "disabled", [])
        async with InstallsClient(host.address, token=ADMIN_TOKEN) as admin:
            await admin.disable_install(tenant=TENANT, install_id="disabled")
        md = await host.install(
            TENANT,
            "caller",
            CAPS,
            ui_proxy_routes=[
                route("elsewhere", "extension:target"),
                route("crash", "extension:crashes"),
                route("off", "extension:disabled"),
            ],
        )
        off = await refused(host, md, "off")
        elsewhere = await refused(host, md, "elsewhere")
        crash = await refused(host, md, "crash")

    for error in (elsewhere, off):
        assert variant(error) == "PROXY_ERROR_INTERNAL"
        assert "no enabled install of this tenant" in (error.details() or "")
    assert variant(crash) == "PROXY_ERROR_INTERNAL"
    assert "UNAVAILABLE" in (crash.details() or "")
    assert [r.context.install_id for r in runner.requests] == ["crashes"]


async def test_without_a_runner_an_extension_upstream_is_internal_saying_so(
    database_url: str, tmp_path: Path
) -> None:
    async with serve_real_host(database_url, tmp_path / "data") as host:
        await host.install(TENANT, "target", [])
        md = await host.install(
            TENANT, "caller", CAPS, ui_proxy_routes=[route("t", "extension:target")]
        )
        error = await refused(host, md, "t")
    assert variant(error) == "PROXY_ERROR_INTERNAL"
    assert "runner_address" in (error.details() or "")
