"""The shapes of an install's names and settings, each a pure check.

Each check answers None when the value is fine, or why it is not: the
validation module names the field. Egress entries are parsed by the egress
guard's own parser; proxy routes are only checked for shape here (what a host
does with them is the ui-proxy provider's business).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from extplane.host.capability_names import known_capabilities
from extplane.host.egress.allowlist import entry_problem

_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_EXTENSION_ID = re.compile(r"[A-Za-z0-9._/@:-]{1,256}")
_VERSION = re.compile(r"[!-~]{1,64}")
_ROUTE = re.compile(r"[A-Za-z0-9._/-]{1,128}")
MAX_EGRESS_ENTRIES = 256
MAX_ROUTES = 256
EXTENSION_UPSTREAM = "extension:"
# RFC 9110 token characters.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")
# Headers the ui-proxy sets itself, or that frame the message: never a secret's carrier.
_RESERVED_HEADER_PREFIXES = ("x-extplane-", "content-", "proxy-")
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "x-request-id",
        "accept-encoding",
        "cookie",
    }
)


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


def egress_problem(entry: str) -> str | None:
    """The egress guard's own allowlist syntax (`extplane.host.egress.allowlist`),
    so what the registry accepts is exactly what `http.fetch` enforces."""
    return entry_problem(entry)


def route_problem(route: str) -> str | None:
    if not _ROUTE.fullmatch(route):
        return "must be 1-128 of A-Z a-z 0-9 . _ - /"
    # A call is matched segment by segment: a segment no call can name is a mistake.
    if any(segment in ("", ".", "..") for segment in route.split("/")):
        return "must be '/'-separated segments, none empty, '.' or '..'"
    return None


def upstream_problem(url: str) -> str | None:
    """An http(s) base URL, or `extension:<install id>` (an install of the same tenant)."""
    if url.startswith(EXTENSION_UPSTREAM):
        if id_problem(url.removeprefix(EXTENSION_UPSTREAM)) is not None:
            return f"must be {EXTENSION_UPSTREAM}<install id> (1-128 of A-Z a-z 0-9 . _ -)"
        return None
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


def secret_header_problem(name: str) -> str | None:
    """A header to carry a route's secret in; empty is `Authorization`."""
    if not name:
        return None
    if not _HEADER_NAME.fullmatch(name):
        return "must be an HTTP header name (1-64 token characters)"
    lower = name.lower()
    if lower in _RESERVED_HEADERS or lower.startswith(_RESERVED_HEADER_PREFIXES):
        return f"{name} is set by the host itself; choose another header"
    return None
