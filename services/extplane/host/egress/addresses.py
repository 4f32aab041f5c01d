"""Which destination addresses egress refuses unless an allowlist entry names them.

Everything that is not ordinary public unicast is refused: a guest has no
business with loopback, the cluster's private ranges, the cloud metadata
endpoint or a range the IANA special-purpose registries reserve. The lists are
explicit networks rather than `ipaddress`'s `is_global`, whose answers have
moved between Python versions.

IPv6 forms that carry an IPv4 address are judged by the address they carry:
NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo (2001::/32, server and
client) pass only when every embedded IPv4 address would; IPv4-mapped and
IPv4-compatible addresses, and the local-use NAT64 prefix 64:ff9b:1::/48, are
refused outright (a public destination never needs them).
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# (network, why) -- the why ends up in refusal details.
REFUSED_V4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "unspecified / this network"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "carrier-grade NAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local / cloud metadata"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved / broadcast"),
    )
)

# Public IPv6 unicast is 2000::/3; everything outside it is refused (loopback,
# unspecified, mapped, ULA fc00::/7 with fd00:ec2::254, link-local, multicast,
# discard, ...) except NAT64, which is judged by its embedded address.
_GLOBAL_V6 = IPv6Network("2000::/3")
REFUSED_V6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), why)
    for net, why in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("::/96", "IPv4-compatible"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("100::/64", "discard"),
        ("2001:2::/48", "benchmarking"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("fc00::/7", "unique-local (incl. fd00:ec2::254 metadata)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
# IETF protocol assignments (ORCHID, AMT, AS112...): refused, but Teredo
# (2001::/32, inside it) is judged by what it embeds.
_IETF_V6 = IPv6Network("2001::/23")
_NAT64 = IPv6Network("64:ff9b::/96")
_6TO4 = IPv6Network("2002::/16")
_TEREDO = IPv6Network("2001::/32")


def embedded_ipv4(address: IPv6Address) -> tuple[IPv4Address, ...]:
    """The IPv4 addresses a NAT64, 6to4 or Teredo address carries (none otherwise)."""
    value = int(address)
    if address in _NAT64:
        return (IPv4Address(value & 0xFFFFFFFF),)
    if address in _6TO4:
        return (IPv4Address((value >> 80) & 0xFFFFFFFF),)
    if address in _TEREDO:
        server = IPv4Address((value >> 64) & 0xFFFFFFFF)
        client = IPv4Address(~value & 0xFFFFFFFF)
        return (server, client)
    return ()


def refusal(address: IPAddress) -> str | None:
    """Why egress refuses `address` by range, or None when it is public unicast."""
    if isinstance(address, IPv4Address):
        return next((why for net, why in REFUSED_V4 if address in net), None)
    if address.scope_id is not None:
        return "IPv6 zone id"
    for net, why in REFUSED_V6:
        if address in net:
            return why
    carried = embedded_ipv4(address)
    if carried:
        for inner in carried:
            inner_why = refusal(inner)
            if inner_why is not None:
                return f"embeds {inner} ({inner_why})"
        return None
    if address in _IETF_V6:
        return "IETF protocol assignments"
    if address not in _GLOBAL_V6:
        return "reserved"
    return None


def exempted(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    """Whether an allowlist IP/CIDR entry names `address` (same family only)."""
    return any(address.version == net.version and address in net for net in networks)
