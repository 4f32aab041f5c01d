"""The ui-proxy over the real host service (both backends): routes from the
install registry, install tokens, loopback upstreams that record what they
receive, and the `RecordingUpstreamDialer` every real test host dials through."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from host_support import ADMIN_TOKEN
from real_host import RealHost, serve_real_host
from ui_proxy_support import CAPS, Answer, Upstream, call, refused, route, serve_upstream, variant

from extplane_client.secrets_admin import SecretsAdminClient
from tests.adapter.sinks import SinkLog, serve_audit
from tests.loopback import dead_address

TENANT = "tenant-p"
SECRET_VALUE = "s3cr3t-value-never-leaked"
OTHER_SECRET = "other-secret-never-sent"
IDENTITY_HEADERS = {
    "x-request-id",
    "x-extplane-tenant",
    "x-extplane-extension",
    "x-extplane-install",
}
# What an upstream may see besides the identity headers: HTTP framing, nothing of anyone's.
FRAMING = {"host", "user-agent", "accept", "accept-encoding", "connection", "content-length"}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve_upstream() as served:
        yield served


@asynccontextmanager
async def proxy_host(database_url: str, tmp_path: Path, **settings: Any) -> AsyncIterator[RealHost]:
    async with serve_real_host(database_url, tmp_path / "data", **settings) as host:
        yield host


async def test_get_without_payload_and_post_with_it(
    database_url: str, tmp_path: Path, upstream: Upstream
) -> None:
    upstream.default = Answer(200, b'{"total": 3}')
    async with proxy_host(database_url, tmp_path) as host:
        md = await host.install(
            TENANT, "p1", CAPS, ui_proxy_routes=[route("reports", f"{upstream.base_url}/api/v1")]
        )
        got = await call(host, md, "reports/summary?x=1&y=a%20b")
        posted = await call(host, md, "reports/summary", b'{"q": "all"}')
        empty = await call(host, md, "reports", b"")

    assert got.payload == posted.payload == empty.payload == b'{"total": 3}'
    first, second, third = upstream.received
    assert (first.method, first.path, first.body) == ("GET", "/api/v1/summary?x=1&y=a%20b", b"")
    assert first.header("content-length") is None
    assert (second.method, second.path, second.body) == ("POST", "/api/v1/summary", b'{"q": "all"}')
    assert second.header("content-type") == "application/octet-stream"
    # A set but empty payload is a payload: POST, with an empty body.
    assert (third.method, third.path, third.body) == ("POST", "/api/v1", b"")


async def test_the_longest_route_wins_on_segment_boundaries(
    database_url: str, tmp_path: Path, upstream: Upstream
) -> None:
    base = upstream.base_url
    routes = [
        route("reports", f"{base}/r/"),
        route("reports/summary", f"{base}/s?fixed=1"),
        route("a/b/c", f"{base}"),
    ]
    async with proxy_host(database_url, tmp_path) as host:
        md = await host.install(TENANT, "p1", CAPS, ui_proxy_routes=routes)
        for name in (
            "reports/summary/today",
            "reports/summaryx",
            "reports",
            "reports/summary?q=2",
            "reports/summary/today/",
            "reports/",
        ):
            await call(host, md, name)
        await call(host, md, "a/b/c/d")
        missing = [await refused(host, md, name) for name in ("reportsx", "a/b", "a", "report")]

    assert [r.path for r in upstream.received] == [
        "/s/today?fixed=1",
        "/r/summaryx",
        "/r/",
        "/s?fixed=1&q=2",
        "/s/today/?fixed=1",
        "/r/",
        "/d",
    ]
    assert [variant(e) for e in missing] == ["PROXY_ERROR_ROUTE_NOT_FOUND"] * 4
    assert all(e.code() is grpc.StatusCode.NOT_FOUND for e in missing)


async def test_the_upstream_learns_who_calls_and_nothing_secret(
    database_url: str, tmp_path: Path, upstream: Upstream
) -> None:
    async with proxy_host(database_url, tmp_path) as host:
        md = await host.install(
            TENANT, "p1", CAPS, ui_proxy_routes=[route("r", upstream.base_url)], request_id="req-42"
        )
        async with SecretsAdminClient(host.address, token=ADMIN_TOKEN) as admin:
            await admin.set_secret(
                tenant=TENANT, install_id="p1", key="API_KEY", value=SECRET_VALUE
            )
        await call(host, md, "r/x", b"payload")
        without_request_id = await host.token(TENANT, "p1")
        await call(host, without_request_id, "r/y")

    first, second = upstream.received
    assert first.names <= IDENTITY_HEADERS | FRAMING | {"content-type"}, first.names
    assert first.names >= IDENTITY_HEADERS
    assert first.header("x-request-id") == "req-42"
    assert first.header("x-extplane-tenant") == TENANT
    assert first.header("x-extplane-extension") == "com.example.p1"
    assert first.header("x-extplane-install") == "p1"
    assert second.names <= IDENTITY_HEADERS | FRAMING
    assert second.header("x-request-id")  # a fresh one when the token carries none
    for received in (first, second):
        assert received.header("authorization") is None
        assert received.header("cookie") is None
        assert not any(SECRET_VALUE in v or "eyJ" in v for _, v in received.headers)


async def test_a_route_that_names_a_secret_sends_that_one_only(
    database_url: str, tmp_path: Path, upstream: Upstream
) -> None:
    base = upstream.base_url
    routes = [
        route("bearer", base, secret_key="API_KEY"),
        route("custom", base, secret_key="API_KEY", secret_header="X-Api-Key"),
        route("gone", base, secret_key="NOT_SET"),
        route("plain", base),
    ]
    async with proxy_host(database_url, tmp_path) as host:
        md = await host.install(TENANT, "p1", CAPS, ui_proxy_routes=routes)
        async with SecretsAdminClient(host.address, token=ADMIN_TOKEN) as admin:
            await admin.set_secret(
                tenant=TENANT, install_id="p1", key="API_KEY", value=SECRET_VALUE
            )
            await admin.set_secret(tenant=TENANT, install_id="p1", key="OTHER", value=OTHER_SECRET)
        await call(host, md, "bearer")
        await call(host, md, "custom/x")
        missing = await refused(host, md, "gone")
        await call(host, md, "plain")

    bearer, custom, plain = upstream.received
    assert bearer.header("authorization") == f"Bearer {SECRET_VALUE}"
    assert custom.header("x-api-key") == SECRET_VALUE
    assert custom.header("authorization") is None
    assert not any(SECRET_VALUE in v for _, v in plain.headers)
    for received in (bearer, custom, plain):
        assert not any(OTHER_SECRET in v for _, v in received.headers)
    assert variant(missing) == "PROXY_ERROR_INTERNAL"
    assert "NOT_SET" in (missing.details() or "")


# Each must be refused before anything is dialled.
TRAVERSALS = [
    "r/../admin",
    "r/..",
    "r/./x",
    "r/.",
    "../r",
    "r/%2e%2e/admin",
    "r/%2E%2E/admin",
    "r/.%2e/admin",
    "r/%2e./admin",
    "r/%2e",
    "r/%252e%252e/admin",
    "r/%252fadmin",
    "r/a%2fb",
    "r/a%2Fb",
    "r/a%5cb",
    "r/a%5Cb",
    "r\\..\\admin",
    "r/..\\admin",
    "r/..;/admin",
    "r/%2e%2e;x/admin",
    "//evil.example/r",
    "/r/x",
    "r//x",
    "r/x//",
    "r/%2e%2e/",
    "http://evil.example/r",
    "https:evil.example",
    "file:///etc/passwd",
    "r/x#frag",
    "r/\x00",
    "r/a\r\nHost: evil",
    "r/a%0d%0ahost:%20evil",
    "r/a%00",
    "r/%c0%ae%c0%ae/admin",
    "r/%e0%80%ae",
    "r/%",
    "r/%zz",
    "r/\u2024\u2024/admin",
    "r/\uff0e\uff0e/admin",
    "r/a b",
    "r/<script>",
    "r?x=%0a",
    "r?x=%",
    "r?x=a b",
    "",
    "r/" + "a" * 2100,
]


async def test_traversal_and_smuggling_attempts_are_bad_requests_sent_nowhere(
    database_url: str, tmp_path: Path, upstream: Upstream
) -> None:
    assert len(TRAVERSALS) >= 20
    log = SinkLog()
    with serve_upstream() as canary, serve_audit(log) as audit_address:
        async with proxy_host(
            database_url, tmp_path, audit_address=audit_address, audit=log
        ) as host:
            md = await host.install(
                TENANT,
                "p1",
                CAPS,
                ui_proxy_routes=[
                    route("r", f"{upstream.base_url}/base"),
                    route("admin", canary.base_url),
                ],
                request_id="req-t",
            )
            before = await host.audit_delivered()
            errors = {name: await refused(host, md, name) for name in TRAVERSALS}
            events = (await host.audit_delivered())[len(before) :]
            assert host.dialer is not None
            dialled = list(host.dialer.sent) + list(host.dialer.refused)

    answered = {name: (variant(e), e.code()) for name, e in errors.items()}
    expected = ("PROXY_ERROR_BAD_REQUEST", grpc.StatusCode.INVALID_ARGUMENT)
    assert {n: a for n, a in answered.items() if a != expected} == {}
    assert all("route" in (e.details() or "") for e in errors.values())
    assert (upstream.hits, canary.hits, dialled) == (0, 0, [])
    assert len(events) == len(TRAVERSALS)
    for event in events:
        assert (event.action, event.outcome, event.namespace) == (
            "ui_proxy_deny",
            "denied",
            TENANT,
        )
        assert event.actor == "extension/com.example.p1@p1"
        assert event.details["variant"] == "PROXY_ERROR_BAD_REQUEST"
        assert event.details["request_id"] == "req-t"


async def test_an_unknown_route_is_route_not_found_and_audited(
    database_url: str, tmp_path: Path, upstream: Upstream
) -> None:
    log = SinkLog()
    with serve_audit(log) as audit_address:
        async with proxy_host(
            database_url, tmp_path, audit_address=audit_address, audit=log
        ) as host:
            md = await host.install(
                TENANT, "p1", CAPS, ui_proxy_routes=[route("r", upstream.base_url)]
            )
            bare = await host.install(TENANT, "p2", CAPS)
            before = await host.audit_delivered()
            errors = [await refused(host, md, "nope/x"), await refused(host, bare, "r")]
            events = (await host.audit_delivered())[len(before) :]

    assert [variant(e) for e in errors] == ["PROXY_ERROR_ROUTE_NOT_FOUND"] * 2
    assert [(e.action, e.details["variant"], e.details["route"]) for e in events] == [
        ("ui_proxy_deny", "PROXY_ERROR_ROUTE_NOT_FOUND", "'nope/x'"),
        ("ui_proxy_deny", "PROXY_ERROR_ROUTE_NOT_FOUND", "'r'"),
    ]
    assert [e.resource for e in events] == [
        f"install/{TENANT}/p1/ui-proxy",
        f"install/{TENANT}/p2/ui-proxy",
    ]
    assert upstream.hits == 0


STATUS_CASES = {
    "200": (Answer(200, b"fine"), None),
    "204": (Answer(204, b""), None),
    "401": (Answer(401, b"who?"), "PROXY_ERROR_DENIED"),
    "403": (Answer(403, b"no"), "PROXY_ERROR_DENIED"),
    "429": (Answer(429, b"slow down"), "PROXY_ERROR_DENIED"),
    "404": (Answer(404, b"none"), "PROXY_ERROR_BAD_REQUEST"),
    "400": (Answer(400, b"bad"), "PROXY_ERROR_BAD_REQUEST"),
    "422": (Answer(422, b"bad"), "PROXY_ERROR_BAD_REQUEST"),
    # Redirects are not followed (the upstream is asked once, below).
    "302": (Answer(302, b"", location="/followed"), "PROXY_ERROR_INTERNAL"),
    "307": (Answer(307, b"", location="/followed"), "PROXY_ERROR_INTERNAL"),
    "308-away": (Answer(308, b"", location="http://169.254.169.254/"), "PROXY_ERROR_INTERNAL"),
    "500": (Answer(500, b"boom"), "PROXY_ERROR_INTERNAL"),
    "503": (Answer(503, b"down"), "PROXY_ERROR_INTERNAL"),
    "timeout": (Answer(hang=True), "PROXY_ERROR_INTERNAL"),
    "oversize": (Answer(200, b"x" * 5000), "PROXY_ERROR_INTERNAL"),
    "oversize-chunked": (Answer(200, b"x" * 5000, chunked=True), "PROXY_ERROR_INTERNAL"),
    "at-the-bound": (Answer(200, b"x" * 4096, chunked=True), None),
}


@pytest.mark.parametrize("case", sorted(STATUS_CASES))
async def test_the_upstream_answer_maps_to_payload_or_variant(
    case: str, database_url: str, tmp_path: Path, upstream: Upstream
) -> None:
    answer, expected = STATUS_CASES[case]
    upstream.default = answer
    # A hung upstream is given up on after the (short) total timeout.
    timeout_s = 0.3 if answer.hang else 30.0
    async with proxy_host(
        database_url,
        tmp_path,
        ui_proxy_timeout_s=timeout_s,
        ui_proxy_max_response_bytes=4096,
    ) as host:
        md = await host.install(TENANT, "p1", CAPS, ui_proxy_routes=[route("r", upstream.base_url)])
        if expected is None:
            reply = await call(host, md, "r/x")
            assert reply.payload == answer.body
        else:
            error = await refused(host, md, "r/x")
            assert variant(error) == expected, error
            if answer.body:  # the upstream's body is never passed on in a refusal
                assert answer.body.decode() not in (error.details() or "")
        assert host.dialer is not None
        assert host.dialer.refused == []  # nothing but the route's upstream was dialled
    assert upstream.hits == 1  # asked once: no retry, no redirect followed


async def test_an_unreachable_upstream_is_internal(database_url: str, tmp_path: Path) -> None:
    async with proxy_host(database_url, tmp_path) as host:
        md = await host.install(
            TENANT, "p1", CAPS, ui_proxy_routes=[route("r", f"http://{dead_address()}")]
        )
        error = await refused(host, md, "r")
    assert variant(error) == "PROXY_ERROR_INTERNAL"


async def test_a_payload_over_the_bound_is_a_bad_request(
    database_url: str, tmp_path: Path, upstream: Upstream
) -> None:
    async with proxy_host(database_url, tmp_path, ui_proxy_max_request_bytes=100) as host:
        md = await host.install(TENANT, "p1", CAPS, ui_proxy_routes=[route("r", upstream.base_url)])
        await call(host, md, "r", b"x" * 100)
        error = await refused(host, md, "r", b"x" * 101)
    assert variant(error) == "PROXY_ERROR_BAD_REQUEST"
    assert "payload" in (error.details() or "")
    assert upstream.hits == 1


async def test_another_installs_routes_are_unreachable(database_url: str, tmp_path: Path) -> None:
    with serve_upstream() as mine, serve_upstream() as theirs:
        async with proxy_host(database_url, tmp_path) as host:
            owner = await host.install(
                TENANT, "owner", CAPS, ui_proxy_routes=[route("private", theirs.base_url)]
            )
            # Same tenant, and another tenant with the owner's very install id.
            same_tenant = await host.install(
                TENANT, "other", CAPS, ui_proxy_routes=[route("shared", mine.base_url)]
            )
            other_tenant = await host.install(
                "tenant-q", "owner", CAPS, ui_proxy_routes=[route("shared", mine.base_url)]
            )
            errors = [
                await refused(host, md, name)
                for md in (same_tenant, other_tenant)
                for name in ("private", "private/x", "../owner/private", "owner/private")
            ]
            await call(host, owner, "private")
            await call(host, same_tenant, "shared")
            await call(host, other_tenant, "shared")

    assert {variant(e) for e in errors} <= {
        "PROXY_ERROR_ROUTE_NOT_FOUND",
        "PROXY_ERROR_BAD_REQUEST",
    }
    assert [variant(e) for e in errors].count("PROXY_ERROR_ROUTE_NOT_FOUND") == 6
    assert theirs.hits == 1  # the owner's own call only
    assert [r.header("x-extplane-tenant") for r in mine.received] == [TENANT, "tenant-q"]
    assert [r.header("x-extplane-install") for r in mine.received] == ["other", "owner"]


async def test_calls_are_counted_by_install_and_outcome(
    database_url: str, tmp_path: Path, upstream: Upstream
) -> None:
    async with proxy_host(database_url, tmp_path) as host:
        md = await host.install(TENANT, "p1", CAPS, ui_proxy_routes=[route("r", upstream.base_url)])
        await call(host, md, "r")
        await call(host, md, "r")
        await refused(host, md, "nope")
        await refused(host, md, "r/..")
        registry = host.service.ui_proxy.registry

    def count(outcome: str) -> float | None:
        return registry.get_sample_value(
            "extplane_host_ui_proxy_calls_total",
            {"tenant": TENANT, "install": "p1", "outcome": outcome},
        )

    assert (
        count("ok"),
        count("PROXY_ERROR_ROUTE_NOT_FOUND"),
        count("PROXY_ERROR_BAD_REQUEST"),
    ) == (
        2.0,
        1.0,
        1.0,
    )


@pytest.mark.parametrize(
    "value", ["v\r\nX-Injected: 1", "v\nHost: evil", "v\x00", "caf\u00e9", "\u2028v", ""]
)
async def test_a_secret_that_is_no_header_value_is_never_sent(
    value: str, database_url: str, tmp_path: Path, upstream: Upstream
) -> None:
    async with proxy_host(database_url, tmp_path) as host:
        md = await host.install(
            TENANT, "p1", CAPS, ui_proxy_routes=[route("r", upstream.base_url, secret_key="K")]
        )
        async with SecretsAdminClient(host.address, token=ADMIN_TOKEN) as admin:
            if value:
                await admin.set_secret(tenant=TENANT, install_id="p1", key="K", value=value)
        error = await refused(host, md, "r")
    assert variant(error) == "PROXY_ERROR_INTERNAL"
    assert "'K'" in (error.details() or "")
    if value:
        assert value not in (error.details() or "")
    assert upstream.hits == 0
