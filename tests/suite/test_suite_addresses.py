"""Addresses the suite builds: dialled hosts for wildcard binds, IPv6 in brackets."""

from __future__ import annotations

import pytest

from extplane.config import Settings
from extplane.suite import GATEWAY, Suite, connect_host

CAPABILITY_PROVIDER = "orloj.extensions.v1.CapabilityProvider"


@pytest.mark.parametrize(
    ("bind", "dial"),
    [
        ("0.0.0.0", "127.0.0.1"),
        ("", "127.0.0.1"),
        ("::", "::1"),
        ("127.0.0.2", "127.0.0.2"),
        ("::1", "::1"),
    ],
)
def test_a_wildcard_bind_is_dialled_on_loopback_of_its_family(bind: str, dial: str) -> None:
    assert connect_host(bind) == dial


@pytest.mark.parametrize(
    ("host", "upstream"),
    [("::1", "[::1]:50051"), ("::", "[::1]:50051"), ("0.0.0.0", "127.0.0.1:50051")],
)
def test_a_gateway_beside_no_capability_server_dials_the_configured_port(
    host: str, upstream: str
) -> None:
    # Built, never started: only the address arithmetic is under test here; the
    # e2e tests run the suite on ::1 and send traffic through these addresses.
    suite = Suite(Settings(host=host), names=[GATEWAY])
    assert suite.upstream_for(CAPABILITY_PROVIDER) == upstream
