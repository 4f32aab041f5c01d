"""The shapes of an install's names and settings, each a pure check.

Each check answers None when the value is fine, or why it is not: the
validation module names the field. Egress entries and proxy routes are only
checked for shape here; what a host does with them is the egress and
ui-proxy providers' business.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from extplane.host.capability_names import known_capabilities

_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_EXTENSION_ID = re.compile(r"[A-Za-z0-9._/@:-]{1,256}")
_VERSION = re.compile(r"[!-~]{1,64}")
_ROUTE = re.compile(r"[A-Za-z0-9._/-]{1,128}")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_PORT = re.compile(r"[0-9]{1,5}")
MAX_EGRESS_ENTRIES = 256
MAX_ROUTES = 256


def id_problem(value: str) -> str | None:
    if _ID.fullmatch(value):
        return None
    return "must be 1-128 of A-Z a-z 0-9 . _ -"


def extension_id_problem(value: str) -> str | None:
    if _EXTENSION_ID.fullmatch(value):
        return None
    return "must be 1-256 of A-Z a-z 0-9 . _ - / @ :"


def version_problem(value: str) -> str | None:
    if _VERSION.fullmatch(value):
        return None
    return "must be 1-64 printable ASCII characters without spaces"


def capability_problem(value: str) -> str | None:
    known = known_capabilities()
    if value in known:
        return None
    return f"unknown capability {value!r}; known: {', '.join(known)}"


def host_problem(host: str) -> str | None:
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return f"{host} is not an IPv6 address"
        return None
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        return None
    labels = host.split(".")
    # A last label of digits only is a malformed IPv4 address, not a name.
    if (
        len(host) > 253
        or not all(_DNS_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        return "host must be a lower-case DNS name or an IP address ([...] for IPv6)"
    return None


def egress_problem(entry: str) -> str | None:
    """`host`, `*.host`, either with `:port`; host a DNS name or an IP literal."""
    host, port = entry, None
    if entry.startswith("["):
        end = entry.find("]")
        if end < 0:
            return "an IPv6 address needs a closing ']'"
        host, rest = entry[: end + 1], entry[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return "only ':port' may follow an IPv6 address"
            port = rest[1:]
    elif ":" in entry:
        host, port = entry.rsplit(":", 1)
    if port is not None and not (_PORT.fullmatch(port) and 1 <= int(port) <= 65535):
        return "port must be 1-65535"
    wildcard = host.startswith("*.")
    if wildcard:
        host = host[2:]
    problem = host_problem(host)
    if problem is not None:
        return problem
    if wildcard and (host.startswith("[") or _is_ipv4(host)):
        return "a wildcard needs a DNS name after '*.'"
    return None


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def route_problem(route: str) -> str | None:
    if _ROUTE.fullmatch(route):
        return None
    return "must be 1-128 of A-Z a-z 0-9 . _ - /"


def upstream_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError:
        return "must be an absolute http or https URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an absolute http or https URL with a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry user info (credentials belong in secrets)"
    if parts.fragment or url.endswith("#"):
        return "must not carry a fragment"
    if any(c.isspace() for c in url):
        return "must not contain spaces"
    return None
