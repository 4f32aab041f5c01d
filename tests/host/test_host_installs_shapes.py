"""The shapes of install settings: property tests of the pure checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extplane.host.installs import shapes

_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_DNS_NAME = (
    st.lists(_LABEL, min_size=1, max_size=4)
    .map(".".join)
    .filter(lambda name: not name.rsplit(".", 1)[-1].isdigit())
)
_PORT = st.integers(1, 65535)


@given(name=_DNS_NAME, wildcard=st.booleans(), port=st.none() | _PORT)
def test_every_well_formed_entry_is_accepted(name: str, wildcard: bool, port: int | None) -> None:
    entry = ("*." if wildcard else "") + name + (f":{port}" if port is not None else "")
    assert shapes.egress_problem(entry) is None


@given(st.text(max_size=300))
def test_any_text_is_judged_without_raising(text: str) -> None:
    assert shapes.egress_problem(text) is None or isinstance(shapes.egress_problem(text), str)
    assert shapes.upstream_problem(text) is None or isinstance(shapes.upstream_problem(text), str)
    assert shapes.route_problem(text) is None or isinstance(shapes.route_problem(text), str)


@given(name=_DNS_NAME, port=st.integers(65536, 10**6) | st.just(0))
def test_a_port_out_of_range_is_refused(name: str, port: int) -> None:
    assert shapes.egress_problem(f"{name}:{port}") is not None


@pytest.mark.parametrize(
    "entry",
    [
        "192.0.2.10",
        "192.0.2.10:443",
        "[2001:db8::1]",
        "[2001:db8::1]:8443",
        "localhost",
        "https://api.example.com",
        "http://api.example.com:8080/v2/",
        "https://*.example.com:8443",
        "https://10.1.2.3:8443",
        "10.0.0.0/8",
        "fd00::/16",
        "[fd00::]/16",
    ],
)
def test_ip_literals_and_single_labels_are_accepted(entry: str) -> None:
    assert shapes.egress_problem(entry) is None


@pytest.mark.parametrize(
    "entry",
    [
        "",
        "ftp://api.example.com",
        "HTTPS://api.example.com",
        "https://api.example.com/v2/../admin",
        "https://api.example.com/v2?x=1",
        "https://10.0.0.0/8",
        "10.0.0.1/8",
        "[fe80::1%eth0]",
        "api.example.com/path",
        "API.example.com",
        "api..example.com",
        "-api.example.com",
        "*.192.0.2.10",
        "*.[2001:db8::1]",
        "[2001:db8::1",
        "[not-an-ip]",
        "*",
        "*.*.example.com",
        "api.example.com:",
        "api.example.com:http",
        "1.2.3.4.5",
        "user@api.example.com",
    ],
)
def test_malformed_entries_are_refused(entry: str) -> None:
    assert shapes.egress_problem(entry) is not None


@pytest.mark.parametrize(
    "url",
    ["https://tickets.internal/list", "http://127.0.0.1:8080", "https://[::1]:9000/a?b=c"],
)
def test_http_upstreams_are_accepted(url: str) -> None:
    assert shapes.upstream_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example.com",
        "https://user:pw@example.com",
        "https://example.com/#frag",
        "/relative/path",
        "https://",
        "https://example.com:99999",
        "https://exa mple.com",
    ],
)
def test_other_upstreams_are_refused(url: str) -> None:
    assert shapes.upstream_problem(url) is not None


@pytest.mark.parametrize("name", ["", "a b", "a/b", "x" * 129, "tenant\u00e9"])
def test_ids_outside_the_charset_are_refused(name: str) -> None:
    assert shapes.id_problem(name) is not None
