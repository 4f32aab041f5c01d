"""The one URL parser: any text is either refused as invalid-url or becomes a
Target whose host is a DNS name or an address, the same host the request line,
`Host` and the dial use."""

from __future__ import annotations

import re
from ipaddress import ip_address

from hypothesis import given
from hypothesis import strategies as st

from extplane.host.egress import EgressError
from extplane.host.egress.target import join, parse_target

_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_URLISH = st.builds(
    lambda scheme, middle, tail: f"{scheme}{middle}{tail}",
    st.sampled_from(["http://", "https://", "HTTP://", "http:/", "http:\\\\", "//", "ftp://", ""]),
    st.text(
        alphabet=st.sampled_from(list("ab1270.:@[]%#?/\\x\u3002\uff0e\uff61-_ \t\r\nfF")),
        max_size=40,
    ),
    st.sampled_from(["", "/", "/p?q=1", "#f"]),
)


def _check(text: str) -> None:
    try:
        target = parse_target(text)
    except EgressError as error:
        kind = error.kind
        assert kind == "invalid-url"
        return
    assert target.scheme in ("http", "https")
    assert 1 <= target.port <= 65535
    if target.ip is not None:
        assert ip_address(target.host) == target.ip
        assert target.ip.version == 6 or str(target.ip) == target.host
    else:
        assert all(_DNS_LABEL.fullmatch(label) for label in target.host.split("."))
    assert target.request_target.startswith(b"/")
    assert b"#" not in target.request_target
    # What the parser decided survives a second reading of its own output.
    again = parse_target(str(target.url))
    assert (again.host, again.ip, again.port) == (target.host, target.ip, target.port)


@given(_URLISH)
def test_any_url_like_text_is_a_consistent_target_or_invalid(text: str) -> None:
    _check(text)


@given(st.text(max_size=60))
def test_any_text_is_a_target_or_invalid(text: str) -> None:
    _check(text)


@given(st.text(max_size=40))
def test_any_location_is_a_target_or_invalid(location: str) -> None:
    base = parse_target("https://api.example.test/a/b?c=d")
    try:
        target = join(base, location)
    except EgressError as error:
        kind = error.kind
        assert kind == "invalid-url"
        return
    assert target.scheme in ("http", "https")
