"""The ui-proxy's default dialer is the egress guard: a route's upstream whose
name resolves to a refused address (loopback here; private or metadata in a
cluster) is refused before anything is sent unless `ui_proxy_allowed_networks`
names its network. An upstream written as an IP literal names that address
itself, as an IP entry of an egress allowlist does.

Names are answered by a test resolver and connections open only to loopback."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from ui_proxy_support import Answer, Upstream, serve_upstream

from extplane.host.config import HostSettings
from extplane.host.egress import EgressGuard, EgressLimits
from extplane.host.egress.testing import LoopbackOnlyDialer, StaticResolver
from extplane.host.ui_proxy.dialer import UpstreamTooLargeError, UpstreamUnreachableError
from extplane.host.ui_proxy.egress_dialer import EgressDialer

NO_REDIRECTS = EgressLimits(max_redirects=0)


def _guard(limits: EgressLimits = NO_REDIRECTS) -> EgressGuard:
    resolver = StaticResolver()
    resolver.always("backend.internal", "127.0.0.1")
    return EgressGuard(resolver=resolver, network_backend=LoopbackOnlyDialer(), limits=limits)


def _named(upstream: Upstream) -> str:
    return upstream.base_url.replace("127.0.0.1", "backend.internal")


async def test_a_name_resolving_to_loopback_is_refused_without_an_allowed_network() -> None:
    dialer = EgressDialer(_guard())
    with serve_upstream() as upstream:
        with pytest.raises(UpstreamUnreachableError, match="not-allowed") as refused:
            await dialer.send(
                "GET",
                f"{_named(upstream)}/v1/x?q=secret",
                [],
                None,
                timeout_s=5,
                max_response_bytes=1024,
            )
        assert upstream.hits == 0
        assert "secret" not in str(refused.value)


async def test_an_upstream_written_as_a_loopback_literal_names_its_address() -> None:
    dialer = EgressDialer(_guard())
    with serve_upstream() as upstream:
        answer = await dialer.send(
            "GET", f"{upstream.base_url}/", [], None, timeout_s=5, max_response_bytes=1024
        )
        assert answer.status == 200


async def test_an_allowed_network_lets_the_upstream_through_with_no_redirect_followed() -> None:
    dialer = EgressDialer(_guard(), ["127.0.0.0/8"])
    with serve_upstream() as upstream:
        upstream.answers["/moved"] = Answer(302, b"", location="http://127.0.0.2:1/")
        moved = await dialer.send(
            "GET", f"{_named(upstream)}/moved", [], None, timeout_s=5, max_response_bytes=1024
        )
        assert moved.status == 302
        answer = await dialer.send(
            "POST",
            f"{_named(upstream)}/v1/x",
            [("x-extplane-tenant", "acme")],
            b"hi",
            timeout_s=5,
            max_response_bytes=1024,
        )
        assert (answer.status, answer.body) == (200, b"upstream ok")
        received = upstream.received[-1]
        assert (received.method, received.path, received.body) == ("POST", "/v1/x", b"hi")
        assert ("x-extplane-tenant", "acme") in [(k.lower(), v) for k, v in received.headers]


async def test_an_answer_over_the_bound_is_too_large_never_truncated() -> None:
    dialer = EgressDialer(_guard(), ["127.0.0.1"])
    with serve_upstream() as upstream, pytest.raises(UpstreamTooLargeError):
        await dialer.send(
            "GET", f"{_named(upstream)}/", [], None, timeout_s=5, max_response_bytes=4
        )


def test_a_guard_that_follows_redirects_is_refused() -> None:
    with pytest.raises(ValueError, match="no redirect"):
        EgressDialer(_guard(EgressLimits(max_redirects=3)))


@pytest.mark.parametrize("value", ["api.example.com", "https://10.0.0.1", "10.0.0.1/33", ""])
def test_allowed_networks_take_addresses_and_cidrs_only(value: str) -> None:
    with pytest.raises(ValidationError, match="ui_proxy_allowed_networks"):
        HostSettings(ui_proxy_allowed_networks=[value])


def test_allowed_networks_accept_addresses_and_cidrs() -> None:
    settings = HostSettings(ui_proxy_allowed_networks=["10.0.0.0/8", "127.0.0.1", "fd00::/8"])
    assert settings.ui_proxy_allowed_networks == ["10.0.0.0/8", "127.0.0.1", "fd00::/8"]
