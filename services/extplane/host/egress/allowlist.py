"""An install's egress allowlist: the syntax (docs/host.md) and the matching.

    https://api.example.com         that host, https, port 443
    https://*.example.com:8443      any name under example.com (not example.com
                                    itself), https, port 8443 only
    https://api.example.com/v2/     that host, paths under /v2/ only
    http://legacy.example.com       plain http must be named
    api.example.com, *.example.com:8443
                                    without a scheme: https only
    10.1.2.3, [fd00::1], https://10.1.2.3:8443
                                    that address as a URL host; it is also
                                    exempt from the refused ranges
    10.0.0.0/8, fd00::/16, [fd00::]/16
                                    any address in it (CIDRs take no scheme,
                                    port nor path); exempt likewise

A host is a lower-case DNS name; an entry never matches another port than the
one it names (or its scheme's default), and an exact name never matches its
subdomains. Parsing is strict (`entry_problem` says why an entry is refused),
so what the install registry stores is exactly what the guard enforces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_network

from extplane.host.egress.addresses import IPAddress, IPNetwork
from extplane.host.egress.target import DEFAULT_PORTS, Target

_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_PORT = re.compile(r"[0-9]{1,5}")
_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@/-]*")
# Encoded dots, slashes and backslashes a server may decode after the prefix check.
_ENCODED_SEPARATOR = re.compile(r"%(2e|2f|5c)", re.IGNORECASE)
MAX_ENTRY_CHARS = 512


class EntryError(ValueError):
    """Why an allowlist entry does not parse (the message names no secret)."""


@dataclass(frozen=True)
class AllowEntry:
    """One parsed entry: a DNS `host` (a suffix when `wildcard`) or a `network`."""

    text: str
    scheme: str
    host: str | None = None
    wildcard: bool = False
    network: IPNetwork | None = None
    port: int | None = None
    path: str = ""

    def admits(self, target: Target) -> bool:
        if target.scheme != self.scheme:
            return False
        if target.port != (self.port or DEFAULT_PORTS[self.scheme]):
            return False
        if target.ip is not None:
            if self.network is None or target.ip.version != self.network.version:
                return False
            if target.ip not in self.network:
                return False
        elif self.host is None:
            return False
        elif self.wildcard:
            if not target.host.endswith("." + self.host):
                return False
        elif target.host != self.host:
            return False
        return _path_within(target.path, self.path)


def _path_within(path: str, prefix: str) -> bool:
    if not prefix:
        return True
    if _ENCODED_SEPARATOR.search(path):
        return False
    if prefix.endswith("/"):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + "/")


def _port(text: str) -> int:
    if not (_PORT.fullmatch(text) and 1 <= int(text) <= 65535):
        raise EntryError("port must be 1-65535")
    return int(text)


def _address(text: str) -> IPAddress | None:
    if text.startswith("[") and text.endswith("]"):
        try:
            address = IPv6Address(text[1:-1])
        except ValueError:
            raise EntryError(f"{text} is not an IPv6 address") from None
        if address.scope_id is not None:
            raise EntryError("an IPv6 zone id is not allowed")
        return address
    try:
        return IPv4Address(text)
    except ValueError:
        return None


def _host(text: str) -> tuple[str | None, bool, IPNetwork | None]:
    """(name, wildcard, network) of an entry's host part."""
    wildcard = text.startswith("*.")
    name = text[2:] if wildcard else text
    address = _address(name)
    if address is not None:
        if wildcard:
            raise EntryError("a wildcard needs a DNS name after '*.'")
        return None, False, ip_network(address)
    labels = name.split(".")
    if len(name) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise EntryError("host must be a lower-case DNS name or an IP address ([...] for IPv6)")
    if labels[-1].isdigit():
        # A last label of digits only is a malformed IPv4 address, not a name.
        raise EntryError(f"{name} is not a valid IPv4 address")
    return name, wildcard, None


def _authority(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise EntryError("an IPv6 address needs a closing ']'")
        host, rest = text[: end + 1], text[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise EntryError("only ':port' may follow an IPv6 address")
        return host, _port(rest[1:])
    if ":" in text:
        host, port = text.rsplit(":", 1)
        return host, _port(port)
    return text, None


def _cidr(text: str) -> IPNetwork:
    address, _, bits = text.partition("/")
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    try:
        network = ip_network(f"{address}/{bits}", strict=True)
    except ValueError:
        raise EntryError(
            f"{text} is not a CIDR (host bits set?); a path prefix needs a scheme (https://...)"
        ) from None
    if isinstance(network, IPv6Network) and "%" in address:
        raise EntryError("an IPv6 zone id is not allowed")
    return network


def parse_entry(text: str) -> AllowEntry:
    """The entry `text` spells, or EntryError."""
    if not text or len(text) > MAX_ENTRY_CHARS:
        raise EntryError(f"must be 1-{MAX_ENTRY_CHARS} characters")
    if not text.isascii() or any(c.isspace() or not c.isprintable() for c in text):
        raise EntryError("must be printable ASCII without spaces")
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    elif scheme not in DEFAULT_PORTS:
        raise EntryError("scheme must be http or https")
    if "@" in rest or "?" in rest or "#" in rest or "\\" in rest:
        raise EntryError("must not carry user info, a query, a fragment or a backslash")
    slash = rest.find("/")
    if slash >= 0 and not scheme:
        return AllowEntry(text, "https", network=_cidr(rest))
    authority, path = (rest[:slash], rest[slash:]) if slash >= 0 else (rest, "")
    if path and (not _PATH.fullmatch(path) or _has_dot_segment(path)):
        raise EntryError("a path prefix must be plain: no '.', '..', '%', '?' or '#'")
    host_text, port = _authority(authority)
    name, wildcard, network = _host(host_text)
    if network is not None and re.fullmatch(r"/[0-9]{1,3}", path):
        raise EntryError("a CIDR is written without a scheme, port or path (10.0.0.0/8)")
    return AllowEntry(text, scheme or "https", name, wildcard, network, port, path)


def _has_dot_segment(path: str) -> bool:
    return any(segment in (".", "..") for segment in path.split("/"))


def entry_problem(text: str) -> str | None:
    """None when `text` is a valid entry, else why not (install registry validation)."""
    try:
        parse_entry(text)
    except EntryError as error:
        return str(error)
    return None


@dataclass(frozen=True)
class Allowlist:
    """Parsed entries; empty admits nothing (deny by default)."""

    entries: tuple[AllowEntry, ...] = ()

    @classmethod
    def parse(cls, texts: Iterable[str]) -> Allowlist:
        """Every entry of `texts` (EntryError naming the first bad one)."""
        return _parse(tuple(texts))

    def admitting(self, target: Target) -> AllowEntry | None:
        """The first entry that admits `target`, if any."""
        return next((entry for entry in self.entries if entry.admits(target)), None)

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        """The IP/CIDR entries: addresses in them are exempt from the refused ranges."""
        return tuple(entry.network for entry in self.entries if entry.network is not None)


@lru_cache(maxsize=1024)
def _parse(texts: tuple[str, ...]) -> Allowlist:
    entries = []
    for index, text in enumerate(texts):
        try:
            entries.append(parse_entry(text))
        except EntryError as error:
            raise EntryError(f"entry {index}: {error}") from None
    return Allowlist(tuple(entries))
