"""What the guard sends and answers, against real origins on loopback: explicit IP
entries and injected names, HTTPS verified against a test CA by name, headers
(hop-by-hop, Host, smuggling), bodies and their caps, time limits, redirects
followed hop by hop."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from extplane.host.egress import (
    Allowlist,
    EgressError,
    EgressGuard,
    EgressLimits,
    OutboundRequest,
    tls_context,
)
from extplane.host.egress.testing import LoopbackOnlyDialer, StaticResolver
from tests.egress.conftest import TLS_NAME
from tests.egress.origin import Origin


def _guard(
    dialer: LoopbackOnlyDialer, resolver: StaticResolver | None = None, **limits: Any
) -> EgressGuard:
    return EgressGuard(
        resolver=resolver or StaticResolver(), network_backend=dialer, limits=EgressLimits(**limits)
    )


def _echoed(body: bytes | None) -> dict[str, Any]:
    assert body is not None
    found: dict[str, Any] = json.loads(body)
    return found


def _header(headers: Any, name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name.lower()]


async def _fail(guard: EgressGuard, request: OutboundRequest, entries: list[str]) -> EgressError:
    with pytest.raises(EgressError) as raised:
        await guard.send(request, Allowlist.parse(entries))
    return raised.value


async def test_an_explicit_ip_entry_reaches_a_loopback_origin_without_resolving(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    resolver = StaticResolver()
    guard = _guard(dialer, resolver)
    url = f"http://127.0.0.1:{origin.port}/echo?q=1&secret=s3"
    answer = await guard.send(
        OutboundRequest("GET", url), Allowlist.parse([f"http://127.0.0.1:{origin.port}"])
    )
    assert answer.status == 200
    echoed = _echoed(answer.body)
    assert (echoed["method"], echoed["target"]) == ("GET", "/echo?q=1&secret=s3")
    assert _header(echoed["headers"], "host") == [f"127.0.0.1:{origin.port}"]
    assert _header(answer.headers, "set-cookie") == ["s=1"]  # the guest's own to keep
    assert answer.url == f"http://127.0.0.1:{origin.port}"
    assert resolver.asked == []
    assert dialer.dialled == [("127.0.0.1", origin.port)]
    assert answer.sent > 0
    assert answer.received >= len(answer.body or b"")


async def test_an_injected_name_is_dialled_at_its_checked_address_and_keeps_its_host(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    resolver = StaticResolver({"svc.example.test": [["127.0.0.1"]]})
    guard = _guard(dialer, resolver)
    entries = [f"http://svc.example.test:{origin.port}", "127.0.0.1"]
    url = f"http://SVC.Example.Test.:{origin.port}/echo"
    answer = await guard.send(OutboundRequest("GET", url), Allowlist.parse(entries))
    assert _header(_echoed(answer.body)["headers"], "host") == [f"svc.example.test:{origin.port}"]
    assert resolver.asked == [("svc.example.test", origin.port)]
    assert dialer.dialled == [("127.0.0.1", origin.port)]


async def test_without_the_ip_entry_the_same_name_is_refused(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    guard = _guard(dialer, StaticResolver({"svc.example.test": [["127.0.0.1"]]}))
    error = await _fail(
        guard,
        OutboundRequest("GET", f"http://svc.example.test:{origin.port}/echo"),
        [f"http://svc.example.test:{origin.port}"],
    )
    assert (error.kind, error.host) == ("not-allowed", "svc.example.test")
    assert origin.seen == []
    assert dialer.dialled == []


async def test_deny_by_default_and_no_lookup_for_an_unlisted_host(
    dialer: LoopbackOnlyDialer,
) -> None:
    resolver = StaticResolver({"api.example.test": [["127.0.0.1"]]})
    guard = _guard(dialer, resolver)
    error = await _fail(guard, OutboundRequest("GET", "https://api.example.test/"), [])
    assert error.kind == "not-allowed"
    assert resolver.asked == []


async def test_https_is_verified_against_the_name(
    tls_origin: tuple[Origin, Path], dialer: LoopbackOnlyDialer
) -> None:
    origin, ca_file = tls_origin
    resolver = StaticResolver({TLS_NAME: [["127.0.0.1"]], "other.example.test": [["127.0.0.1"]]})
    guard = EgressGuard(resolver=resolver, network_backend=dialer, tls=tls_context(ca_file))
    entries = [f"https://{TLS_NAME}:{origin.port}", f"https://other.example.test:{origin.port}"]
    answer = await guard.send(
        OutboundRequest("GET", f"https://{TLS_NAME}:{origin.port}/echo"),
        Allowlist.parse([*entries, "127.0.0.1"]),
    )
    assert answer.status == 200
    assert _header(_echoed(answer.body)["headers"], "host") == [f"{TLS_NAME}:{origin.port}"]
    # The certificate does not name `other`: connecting to the same address fails TLS.
    error = await _fail(
        guard,
        OutboundRequest("GET", f"https://other.example.test:{origin.port}/echo"),
        [*entries, "127.0.0.1"],
    )
    assert error.kind == "transport"
    # And a guard without the test CA trusts nothing the origin presents.
    untrusting = EgressGuard(resolver=resolver, network_backend=dialer)
    error = await _fail(
        untrusting,
        OutboundRequest("GET", f"https://{TLS_NAME}:{origin.port}/echo"),
        [*entries, "127.0.0.1"],
    )
    assert error.kind == "transport"
    assert len(origin.seen) == 1


async def test_a_body_is_sent_with_the_hosts_own_length(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    guard = _guard(dialer)
    entries = [f"http://127.0.0.1:{origin.port}"]
    url = f"http://127.0.0.1:{origin.port}/echo"
    posted = await guard.send(
        OutboundRequest(
            "POST", url, [("Content-Length", "1"), ("Content-Type", "text/plain")], b"hello"
        ),
        Allowlist.parse(entries),
    )
    echoed = _echoed(posted.body)
    assert (echoed["method"], echoed["body"]) == ("POST", "hello")
    assert _header(echoed["headers"], "content-length") == ["5"]
    empty = _echoed(
        (await guard.send(OutboundRequest("PUT", url, body=b""), Allowlist.parse(entries))).body
    )
    assert _header(empty["headers"], "content-length") == ["0"]
    none = _echoed((await guard.send(OutboundRequest("GET", url), Allowlist.parse(entries))).body)
    assert _header(none["headers"], "content-length") == []


async def test_hop_by_hop_headers_are_dropped_both_ways(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    guard = _guard(dialer)
    entries = [f"http://127.0.0.1:{origin.port}"]
    sent = [
        ("Connection", "X-Drop-Me"),
        ("X-Drop-Me", "1"),
        ("Keep-Alive", "timeout=99"),
        ("TE", "trailers"),
        ("Upgrade", "websocket"),
        ("Proxy-Authorization", "Basic eA=="),
        ("Proxy-Connection", "keep-alive"),
        ("Expect", "100-continue"),
        ("X-Kept", "yes"),
    ]
    answer = await guard.send(
        OutboundRequest("GET", f"http://127.0.0.1:{origin.port}/echo", sent),
        Allowlist.parse(entries),
    )
    names = {name.lower() for name, _ in _echoed(answer.body)["headers"]}
    assert "x-kept" in names
    dropped = {"x-drop-me", "keep-alive", "te", "upgrade", "proxy-authorization", "expect"}
    assert not names & (dropped | {"proxy-connection"})
    hop = await guard.send(
        OutboundRequest("GET", f"http://127.0.0.1:{origin.port}/hop"), Allowlist.parse(entries)
    )
    names = {name.lower() for name, _ in hop.headers}
    assert "x-kept" in names
    assert not names & {"connection", "x-private", "keep-alive", "upgrade"}


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ([("X-A", "1\r\nX-Injected: 1")], "invalid-url"),
        ([("X-A", "1\nHost: 127.0.0.1")], "invalid-url"),
        ([("X-A", "1\r")], "invalid-url"),
        ([("X-A", "nul\x00")], "invalid-url"),
        ([("X-A\r\nX-B", "1")], "invalid-url"),
        ([("X A", "1")], "invalid-url"),
        ([("", "1")], "invalid-url"),
        ([("X-A:", "1")], "invalid-url"),
        ([("X-A", "caf\u00e9\u2603")], "invalid-url"),
        ([("Host", "127.0.0.1:1")], "not-allowed"),
        ([("Host", "api.example.test")], "not-allowed"),
        ([("host", "metadata.google.internal")], "not-allowed"),
        ([("X-A", "x")] * 65, "invalid-url"),
        ([("X-A", "x" * 17000)], "invalid-url"),
    ],
)
async def test_header_smuggling_is_refused_before_sending(
    headers: list[tuple[str, str]], kind: str, origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    guard = _guard(dialer)
    error = await _fail(
        guard,
        OutboundRequest("GET", f"http://127.0.0.1:{origin.port}/echo", headers),
        [f"http://127.0.0.1:{origin.port}"],
    )
    assert error.kind == kind
    assert "x-injected" not in error.detail.lower()
    assert origin.seen == []
    assert dialer.dialled == []


async def test_a_guest_host_header_naming_the_url_host_is_taken_once(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    guard = _guard(dialer)
    answer = await guard.send(
        OutboundRequest(
            "GET", f"http://127.0.0.1:{origin.port}/echo", [("HOST", f"127.0.0.1:{origin.port}")]
        ),
        Allowlist.parse([f"http://127.0.0.1:{origin.port}"]),
    )
    assert _header(_echoed(answer.body)["headers"], "host") == [f"127.0.0.1:{origin.port}"]


async def test_a_smuggled_second_request_stays_one_request(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    """Transfer-Encoding and a conflicting Content-Length from the guest are dropped:
    the body goes with the host's own length, and the origin parses one request."""
    guard = _guard(dialer)
    smuggled = b"0\r\n\r\nGET /admin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answer = await guard.send(
        OutboundRequest(
            "POST",
            f"http://127.0.0.1:{origin.port}/echo",
            [("Transfer-Encoding", "chunked"), ("Content-Length", "0")],
            smuggled,
        ),
        Allowlist.parse([f"http://127.0.0.1:{origin.port}"]),
    )
    assert _echoed(answer.body)["body"] == smuggled.decode()
    assert [seen.target for seen in origin.seen] == ["/echo"]


@pytest.mark.parametrize("method", ["CONNECT", "TRACE", "GET /x HTTP/1.1\r\n", "G\x00T", ""])
async def test_methods_that_tunnel_or_split_are_refused(
    method: str, origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    error = await _fail(
        _guard(dialer),
        OutboundRequest(method, f"http://127.0.0.1:{origin.port}/echo"),
        [f"http://127.0.0.1:{origin.port}"],
    )
    assert error.kind == "invalid-url"
    assert origin.seen == []


@pytest.mark.parametrize("path", ["big", "big-chunked"])
async def test_a_response_over_the_cap_fails_and_is_never_truncated(
    path: str, origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    guard = _guard(dialer, max_response_bytes=100_000)
    entries = [f"http://127.0.0.1:{origin.port}"]
    exact = await guard.send(
        OutboundRequest("GET", f"http://127.0.0.1:{origin.port}/{path}?n=100000"),
        Allowlist.parse(entries),
    )
    assert len(exact.body or b"") == 100_000
    error = await _fail(
        guard, OutboundRequest("GET", f"http://127.0.0.1:{origin.port}/{path}?n=100001"), entries
    )
    assert error.kind == "transport"
    assert "100000 bytes" in error.detail


async def test_a_request_body_over_the_cap_is_not_sent(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    error = await _fail(
        _guard(dialer, max_request_bytes=10),
        OutboundRequest("POST", f"http://127.0.0.1:{origin.port}/echo", body=b"x" * 11),
        [f"http://127.0.0.1:{origin.port}"],
    )
    assert error.kind == "transport"
    assert origin.seen == []


async def test_too_many_response_headers_fail(origin: Origin, dialer: LoopbackOnlyDialer) -> None:
    error = await _fail(
        _guard(dialer, max_response_headers=20),
        OutboundRequest("GET", f"http://127.0.0.1:{origin.port}/headers?n=50"),
        [f"http://127.0.0.1:{origin.port}"],
    )
    assert error.kind == "transport"


async def test_a_response_that_never_ends_fails_at_the_total_limit(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    error = await _fail(
        _guard(dialer, total_timeout_s=0.3),
        OutboundRequest("GET", f"http://127.0.0.1:{origin.port}/slow"),
        [f"http://127.0.0.1:{origin.port}"],
    )
    assert error.kind == "transport"
    assert "no complete answer" in error.detail


async def test_nothing_listening_and_no_such_name_are_transport(
    dialer: LoopbackOnlyDialer,
) -> None:
    from tests.loopback import unused_port

    port = unused_port()
    guard = _guard(dialer, StaticResolver())
    closed = await _fail(
        guard, OutboundRequest("GET", f"http://127.0.0.1:{port}/"), [f"http://127.0.0.1:{port}"]
    )
    assert closed.kind == "transport"
    missing = await _fail(
        guard, OutboundRequest("GET", "https://gone.example.test/"), ["https://gone.example.test"]
    )
    assert (missing.kind, missing.detail) == ("transport", "gone.example.test does not resolve")


@pytest.fixture
async def second() -> AsyncIterator[Origin]:
    async with Origin(host="127.0.0.3") as served:
        yield served


def _redirect(origin: Origin, status: int, to: str) -> str:
    return f"http://127.0.0.1:{origin.port}/redirect?status={status}&to={quote(to, safe='')}"


@pytest.mark.parametrize(
    ("status", "method", "has_body"),
    [
        (301, "GET", False),
        (302, "GET", False),
        (303, "GET", False),
        (307, "POST", True),
        (308, "POST", True),
    ],
)
async def test_redirects_are_followed_as_new_requests(
    status: int, method: str, has_body: bool, origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    guard = _guard(dialer)
    answer = await guard.send(
        OutboundRequest(
            "POST",
            _redirect(origin, status, "/echo?next=1"),
            [("Content-Type", "text/plain"), ("Authorization", "Bearer same-origin")],
            b"payload",
        ),
        Allowlist.parse([f"http://127.0.0.1:{origin.port}"]),
    )
    assert (answer.status, answer.redirects) == (200, 1)
    echoed = _echoed(answer.body)
    assert (echoed["method"], echoed["target"]) == (method, "/echo?next=1")
    assert echoed["body"] == ("payload" if has_body else "")
    assert bool(_header(echoed["headers"], "content-type")) is has_body
    assert _header(echoed["headers"], "authorization") == ["Bearer same-origin"]


async def test_a_cross_origin_redirect_drops_credentials(
    origin: Origin, second: Origin, dialer: LoopbackOnlyDialer
) -> None:
    guard = _guard(dialer)
    entries = [f"http://127.0.0.1:{origin.port}", f"http://127.0.0.3:{second.port}"]
    answer = await guard.send(
        OutboundRequest(
            "GET",
            _redirect(origin, 307, f"http://127.0.0.3:{second.port}/echo"),
            [
                ("Authorization", "Bearer t"),
                ("Cookie", "sid=1"),
                ("X-Api-Key", "k"),
                ("Accept", "application/json"),
            ],
        ),
        Allowlist.parse(entries),
    )
    names = {name.lower() for name, _ in _echoed(answer.body)["headers"]}
    assert "accept" in names
    assert not names & {"authorization", "cookie", "x-api-key"}
    assert _header(_echoed(answer.body)["headers"], "host") == [f"127.0.0.3:{second.port}"]


async def test_a_redirect_outside_the_allowlist_is_refused(
    origin: Origin, second: Origin, dialer: LoopbackOnlyDialer
) -> None:
    error = await _fail(
        _guard(dialer),
        OutboundRequest("GET", _redirect(origin, 302, f"http://127.0.0.3:{second.port}/echo")),
        [f"http://127.0.0.1:{origin.port}"],
    )
    assert error.kind == "not-allowed"
    assert second.seen == []


async def test_redirects_are_bounded_and_can_be_returned_instead(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    entries = [f"http://127.0.0.1:{origin.port}"]
    loop = f"http://127.0.0.1:{origin.port}/redirect?status=302&to=%2Fredirect%3Fstatus%3D302%26to%3D%252Fecho"
    error = await _fail(_guard(dialer, max_redirects=1), OutboundRequest("GET", loop), entries)
    assert (error.kind, error.detail) == ("transport", "more than 1 redirects")
    unfollowed = await _guard(dialer, max_redirects=0).send(
        OutboundRequest("GET", loop), Allowlist.parse(entries)
    )
    assert unfollowed.status == 302
    assert _header(unfollowed.headers, "location")
    followed = await _guard(dialer, max_redirects=2).send(
        OutboundRequest("GET", loop), Allowlist.parse(entries)
    )
    assert (followed.status, followed.redirects) == (200, 2)


async def test_head_and_no_content_answers_have_no_body(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    answer = await _guard(dialer).send(
        OutboundRequest("HEAD", f"http://127.0.0.1:{origin.port}/echo"),
        Allowlist.parse([f"http://127.0.0.1:{origin.port}"]),
    )
    assert (answer.status, answer.body) == (200, None)


async def test_an_ipv6_literal_entry_reaches_an_origin_on_ipv6_loopback(
    dialer: LoopbackOnlyDialer,
) -> None:
    async with Origin(host="::1") as v6:
        answer = await _guard(dialer).send(
            OutboundRequest("GET", f"http://[::1]:{v6.port}/echo"),
            Allowlist.parse([f"http://[::1]:{v6.port}"]),
        )
    assert _header(_echoed(answer.body)["headers"], "host") == [f"[::1]:{v6.port}"]
    assert dialer.dialled == [("::1", v6.port)]


async def test_every_checked_address_is_tried_in_order_and_no_other(
    origin: Origin, dialer: LoopbackOnlyDialer
) -> None:
    """127.0.0.3 has nothing on the port: the guard moves on to the next checked
    address, never to one it did not check."""
    resolver = StaticResolver({"two.example.test": [["127.0.0.3", "127.0.0.1"]]})
    answer = await _guard(dialer, resolver).send(
        OutboundRequest("GET", f"http://two.example.test:{origin.port}/echo"),
        Allowlist.parse([f"http://two.example.test:{origin.port}", "127.0.0.0/24"]),
    )
    assert answer.status == 200
    assert dialer.dialled == [("127.0.0.3", origin.port), ("127.0.0.1", origin.port)]
