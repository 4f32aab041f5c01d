"""The refused ranges and the reading of numeric hosts, as pure functions."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extplane.host.egress import EgressError
from extplane.host.egress.addresses import embedded_ipv4, refusal
from extplane.host.egress.target import ipv4_of_number_host, parse_target


@pytest.mark.parametrize(
    "address",
    [
        "0.0.0.0", "0.255.255.255", "10.0.0.0", "10.255.255.255", "100.64.0.0",
        "100.127.255.255", "127.0.0.1", "127.255.255.255", "169.254.169.254",
        "172.16.0.0", "172.31.255.255", "192.0.0.8", "192.0.2.255", "192.88.99.1",
        "192.168.0.1", "198.18.0.0", "198.19.255.255", "198.51.100.7", "203.0.113.9",
        "224.0.0.1", "239.255.255.255", "240.0.0.0", "255.255.255.255",
        "::", "::1", "::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::7f00:1", "64:ff9b:1::808:808",
        "100::1", "2001:2::1", "2001:db8::1", "2001:10::1", "2001:20::1", "3fff::1",
        "fc00::1", "fd00:ec2::254", "fe80::1", "fec0::1", "ff02::1", "4000::1", "::2",
        "2002:a00:1::1", "2002:7f00:1::", "2001:0:7f00:1::1",
        "2001:0:808:808:0:0:80ff:fffe", "fe80::1%1",
    ],
)  # fmt: skip
def test_refused_addresses(address: str) -> None:
    assert refusal(ip_address(address)) is not None


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.0",
        "172.32.0.1", "198.17.255.255", "198.20.0.0", "223.255.255.255",
        "2606:4700::1111", "2a00:1450:4001::1", "64:ff9b::808:808", "2002:808:808::1",
        "2001:0:808:808:0:0:f7f7:f7f7",
    ],
)  # fmt: skip
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ip_address(address)) is None


def test_teredo_carries_server_and_inverted_client() -> None:
    carried = embedded_ipv4(ip_address("2001:0:4136:e378:8000:63bf:3fff:fdd2"))  # type: ignore[arg-type]
    assert carried == (IPv4Address("65.54.227.120"), IPv4Address("192.0.2.45"))


@given(st.integers(0, 2**32 - 1))
def test_every_numeric_spelling_means_its_address(value: int) -> None:
    address = IPv4Address(value)
    a, b, c, d = address.packed
    spellings = [
        str(value),
        hex(value),
        f"0{value:o}" if value else "0",
        f"{a}.{(b << 16) | (c << 8) | d}",
        f"{a}.{b}.{(c << 8) | d}",
        f"{hex(a)}.{hex(b)}.{hex(c)}.{hex(d)}",
        f"0{a:o}.0{b:o}.0{c:o}.0{d:o}",
    ]
    for spelling in spellings:
        assert ipv4_of_number_host(spelling) == address, spelling


@pytest.mark.parametrize(
    "host", ["1.2.3.4.5", "256.1.1.1", "1.2.3.256", "08.1.1.1", "0x1g.1", "1.2.3.0x100"]
)
def test_numeric_hosts_that_are_no_address_are_invalid(host: str) -> None:
    with pytest.raises(EgressError) as raised:
        parse_target(f"http://{host}/")
    assert raised.value.kind == "invalid-url"


def test_a_name_with_digits_is_still_a_name() -> None:
    target = parse_target("https://1.2.3.4.example.test/")
    assert (target.host, target.ip) == ("1.2.3.4.example.test", None)
