"""`http.fetch` through the REAL host service (HostService.Fetch with install
tokens, the allowlist read from the install registry), on both backends.

The host's guard resolves with a table and dials through a loopback-only
dialer; origins listen on 127.0.0.2 (allowed by an explicit IP entry or a name
the table maps there), canaries on 127.0.0.1 and must count zero. The whole
attack list of tests/egress runs over the wire, each case answered with its
HTTP_ERROR variant; refusals are audit events naming the host, never the query.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import grpc
import pytest
from host_support import ADMIN_TOKEN
from real_host import Metadata, RealHost, serve_real_host

from extplane.host.egress import EgressGuard, EgressLimits
from extplane.host.egress.testing import LoopbackOnlyDialer, StaticResolver
from extplane_client import InstallsClient, alga_errors
from extplane_protos.alga.extension.v1 import http_pb2, http_pb2_grpc, types_pb2
from tests.adapter.sinks import SinkLog, serve_audit
from tests.egress.attacks import (
    ATTACKS,
    REDIRECT_TARGETS,
    RESOLVED,
    attack_allowlist,
)
from tests.egress.origin import Canary, Origin

TENANT = "tenant-e"
_VARIANT = {
    "invalid-url": ("HTTP_ERROR_INVALID_URL", grpc.StatusCode.INVALID_ARGUMENT),
    "not-allowed": ("HTTP_ERROR_NOT_ALLOWED", grpc.StatusCode.PERMISSION_DENIED),
    "transport": ("HTTP_ERROR_TRANSPORT", grpc.StatusCode.UNAVAILABLE),
}


@dataclass
class World:
    host: RealHost
    origin: Origin
    canary: Canary
    resolver: StaticResolver
    dialer: LoopbackOnlyDialer
    log: SinkLog

    async def install(self, install_id: str, allowlist: list[str]) -> Metadata:
        return await self.host.install(
            TENANT, install_id, ["cap:http.fetch"], egress_allowlist=allowlist
        )

    async def fetch(
        self, token: Metadata, request: types_pb2.HttpRequest
    ) -> types_pb2.HttpResponse:
        stub = http_pb2_grpc.HttpServiceStub(self.host.channel)
        reply = await stub.Fetch(
            http_pb2.HttpServiceFetchRequest(request=request), metadata=token, timeout=30
        )
        return reply.response

    async def refused(
        self, token: Metadata, request: types_pb2.HttpRequest
    ) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await self.fetch(token, request)
        return raised.value

    def metric(self, name: str, **labels: str) -> float:
        assert self.host.registry is not None
        value = self.host.registry.get_sample_value(name, {"tenant": TENANT, **labels})
        return value or 0.0


@pytest.fixture
async def world(database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    resolver = StaticResolver({name: [list(a)] for name, a in RESOLVED.items()})
    resolver.always("svc.example.test", "127.0.0.2")
    dialer = LoopbackOnlyDialer()
    guard = EgressGuard(
        resolver=resolver, network_backend=dialer, limits=EgressLimits(max_response_bytes=10_000)
    )
    log = SinkLog()
    canary = await Canary().start()
    try:
        async with Origin(host="127.0.0.2") as origin:
            with serve_audit(log) as audit_address:
                async with serve_real_host(
                    database_url,
                    tmp_path / "data",
                    audit_address=audit_address,
                    audit=log,
                    egress_guard=guard,
                ) as host:
                    yield World(host, origin, canary, resolver, dialer, log)
    finally:
        await canary.close()
    assert dialer.violations == [], "the guard tried to dial outside loopback"
    assert canary.hits == 0, "a refused request reached the canary"


def _variant(error: grpc.aio.AioRpcError) -> str | None:
    found = alga_errors.variant_from_error(error)
    return None if found is None else found.name


def _get(url: str, **fields: object) -> types_pb2.HttpRequest:
    return types_pb2.HttpRequest(method="GET", url=url, **fields)  # type: ignore[arg-type]


async def test_the_attack_list_over_the_wire(world: World) -> None:
    token = await world.install("attacked", attack_allowlist(world.canary.port, world.origin.port))
    mismatched: list[str] = []
    for attack in ATTACKS:
        error = await world.refused(token, _get(attack.aimed(world.canary.port)))
        variant, code = _VARIANT[attack.kind]
        if (_variant(error), error.code()) != (variant, code):
            mismatched.append(f"{attack.id}: {error.code()} {error.details()}")
    for status in (302, 307, 308):
        for attack in REDIRECT_TARGETS:
            to = quote(attack.aimed(world.canary.port), safe="")
            url = f"http://127.0.0.2:{world.origin.port}/redirect?status={status}&to={to}"
            error = await world.refused(token, _get(url))
            if _variant(error) != _VARIANT[attack.kind][0]:
                mismatched.append(f"redirect {status} {attack.id}: {error.details()}")
    assert mismatched == []
    assert world.canary.hits == 0
    assert {host for host, _ in world.dialer.dialled} == {"127.0.0.2"}
    refusals = world.metric(
        "extplane_host_egress_refusals_total", install="attacked", kind="not-allowed"
    )
    assert refusals >= sum(1 for a in ATTACKS if a.kind == "not-allowed")


async def test_a_fetch_goes_through_by_name_with_the_install_allowlist(world: World) -> None:
    port = world.origin.port
    token = await world.install("fetcher", [f"http://svc.example.test:{port}", "127.0.0.2"])
    before = len(await world.host.audit_delivered())
    answer = await world.fetch(
        token,
        types_pb2.HttpRequest(
            method="POST",
            url=f"http://svc.example.test:{port}/echo?page=2",
            headers=[
                types_pb2.HttpHeader(name="Content-Type", value="application/json"),
                types_pb2.HttpHeader(name="Connection", value="close"),
            ],
            body=b'{"a":1}',
        ),
    )
    assert answer.status == 200
    assert answer.HasField("body")
    echoed = json.loads(answer.body)
    assert (echoed["method"], echoed["target"], echoed["body"]) == (
        "POST",
        "/echo?page=2",
        '{"a":1}',
    )
    sent = {name.lower(): value for name, value in echoed["headers"]}
    assert sent["host"] == f"svc.example.test:{port}"
    assert "connection" not in sent
    assert ("Set-Cookie", "s=1") in [(h.name, h.value) for h in answer.headers]
    assert len(await world.host.audit_delivered()) == before  # a fetch is no refusal
    assert world.metric("extplane_host_egress_bytes_sent_total", install="fetcher") > 7
    received = world.metric("extplane_host_egress_bytes_received_total", install="fetcher")
    assert received >= len(answer.body)
    assert world.metric("extplane_host_egress_fetches_total", install="fetcher", outcome="ok") == 1


async def test_a_refusal_is_audited_by_host_without_the_query(world: World) -> None:
    token = await world.install("curious", ["https://api.example.test"])
    before = len(await world.host.audit_delivered())
    error = await world.refused(
        token, _get("http://169.254.169.254/latest/meta-data/iam?token=SECRET-1")
    )
    assert _variant(error) == "HTTP_ERROR_NOT_ALLOWED"
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "SECRET-1" not in (error.details() or "")
    [event] = (await world.host.audit_delivered())[before:]
    assert (event.action, event.outcome, event.resource) == ("egress_deny", "denied", "http.fetch")
    assert event.namespace == TENANT
    assert event.actor == "extension/com.example.curious@curious"
    assert (event.details["host"], event.details["kind"]) == ("169.254.169.254", "not-allowed")
    assert "SECRET-1" not in str(event)
    assert "meta-data" not in str(event)
    assert (
        world.metric("extplane_host_egress_refusals_total", install="curious", kind="not-allowed")
        == 1
    )


async def test_an_allowlist_change_applies_to_the_next_fetch(world: World) -> None:
    port = world.origin.port
    token = await world.install("changing", [])
    url = f"http://127.0.0.2:{port}/echo"
    assert _variant(await world.refused(token, _get(url))) == "HTTP_ERROR_NOT_ALLOWED"
    async with InstallsClient(world.host.address, token=ADMIN_TOKEN) as admin:
        await admin.update_install(
            tenant=TENANT,
            install_id="changing",
            revision=1,
            egress_allowlist=[f"http://127.0.0.2:{port}"],
        )
    assert (await world.fetch(token, _get(url))).status == 200


async def test_one_installs_allowlist_is_not_anothers(world: World) -> None:
    port = world.origin.port
    owner = await world.install("owner", [f"http://127.0.0.2:{port}"])
    other = await world.install("other", ["https://api.example.test"])
    # The same install id in another tenant is another install, with its own list.
    namesake = await world.host.install(
        "tenant-f", "owner", ["cap:http.fetch"], egress_allowlist=["https://api.example.test"]
    )
    url = f"http://127.0.0.2:{port}/echo"
    for token in (other, namesake):
        assert _variant(await world.refused(token, _get(url))) == "HTTP_ERROR_NOT_ALLOWED"
    assert world.origin.seen == []
    assert (await world.fetch(owner, _get(url))).status == 200


async def test_bad_requests_and_failures_are_their_variants(world: World) -> None:
    port = world.origin.port
    token = await world.install("edges", [f"http://127.0.0.2:{port}"])
    stub = http_pb2_grpc.HttpServiceStub(world.host.channel)
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.Fetch(http_pb2.HttpServiceFetchRequest(), metadata=token, timeout=10)
    assert _variant(missing.value) == "HTTP_ERROR_INVALID_URL"
    assert "request" in (missing.value.details() or "")
    smuggled = _get(
        f"http://127.0.0.2:{port}/echo",
        headers=[types_pb2.HttpHeader(name="X-A", value="1\r\nHost: 127.0.0.1")],
    )
    error = await world.refused(token, smuggled)
    assert _variant(error) == "HTTP_ERROR_INVALID_URL"
    assert "request.headers[0].value" in (error.details() or "")
    oversized = await world.refused(token, _get(f"http://127.0.0.2:{port}/big?n=10001"))
    assert (_variant(oversized), oversized.code()) == (
        "HTTP_ERROR_TRANSPORT",
        grpc.StatusCode.UNAVAILABLE,
    )
    head = await world.fetch(
        token, types_pb2.HttpRequest(method="HEAD", url=f"http://127.0.0.2:{port}/echo")
    )
    assert (head.status, head.HasField("body")) == (200, False)
    assert (
        world.metric("extplane_host_egress_fetches_total", install="edges", outcome="transport")
        == 1
    )


async def test_without_the_capability_fetch_is_denied(world: World) -> None:
    token = await world.host.install(TENANT, "nocap", ["cap:log.emit"])
    error = await world.refused(token, _get("https://api.example.test/"))
    assert error.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "cap:http.fetch" in (error.details() or "")
