"""Which request and response headers cross the guard, and in what shape.

A guest names its own headers; the host never adds credentials or cookies of
its own. `Host` and `Content-Length` are the host's (from the checked URL and
the body), so a guest can neither aim a request at another virtual host nor
smuggle a second request with a conflicting length; hop-by-hop headers (and
any header `Connection` names) concern one connection and are dropped both
ways. A header name must be an RFC 9110 token and a value may hold no CR, LF
or NUL, so no header can be split into two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from extplane.host.egress.errors import EgressError
from extplane.host.egress.limits import EgressLimits
from extplane.host.egress.target import Target

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Set by the host from the checked URL and the body, never taken from the guest.
_HOST_OWNED = frozenset({"host", "content-length", "expect"})
# What a redirect to another origin still carries: nothing that could be a credential.
CROSS_ORIGIN_KEPT = frozenset(
    {"accept", "accept-encoding", "accept-language", "user-agent", "content-type"}
)
_BODY_HEADERS = frozenset({"content-type", "content-encoding", "content-language"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}")
_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
_REFUSED_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})

Headers = list[tuple[str, str]]


def check_method(method: str) -> str:
    if not _METHOD.fullmatch(method):
        raise EgressError("invalid-url", "request.method: must be an HTTP method token")
    if method.upper() in _REFUSED_METHODS:
        raise EgressError("invalid-url", f"request.method: {method.upper()} is not allowed")
    return method


def _connection_named(headers: Iterable[tuple[str, str]]) -> set[str]:
    named: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            named.update(token.strip().lower() for token in value.split(","))
    return named


def guest_headers(
    headers: Sequence[tuple[str, str]], target: Target, limits: EgressLimits
) -> Headers:
    """The guest's headers as sent, minus what the host owns or drops; EgressError
    (`invalid-url`, naming the header's index) for one that could split a request,
    `not-allowed` for a `Host` naming another host than the URL."""
    if len(headers) > limits.max_request_headers:
        raise EgressError("invalid-url", f"request.headers: more than {limits.max_request_headers}")
    size = 0
    for index, (name, value) in enumerate(headers):
        if not _TOKEN.fullmatch(name):
            raise EgressError("invalid-url", f"request.headers[{index}].name: not a header token")
        if not _VALUE.fullmatch(value) or not _latin1(value):
            raise EgressError(
                "invalid-url", f"request.headers[{index}].value: holds CR, LF, NUL or non-Latin-1"
            )
        size += len(name) + len(value) + 4
        if name.lower() == "host" and value.strip().lower() not in _host_spellings(target):
            raise EgressError("not-allowed", f"request.headers[{index}]: Host must name {target}")
    if size > limits.max_header_bytes:
        raise EgressError(
            "invalid-url", f"request.headers: more than {limits.max_header_bytes} bytes"
        )
    dropped = HOP_BY_HOP | _HOST_OWNED | _connection_named(headers)
    return [(name, value) for name, value in headers if name.lower() not in dropped]


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _host_spellings(target: Target) -> set[str]:
    host = f"[{target.host}]" if ":" in target.host else target.host
    return {target.authority, f"{host}:{target.port}"}


def wire_headers(headers: Headers, target: Target, body: bytes | None) -> list[tuple[bytes, bytes]]:
    """What goes on the wire: `Host` first, the guest's headers, the body's length."""
    out = [(b"Host", target.authority.encode("ascii"))]
    out += [(name.encode("ascii"), value.encode("latin-1")) for name, value in headers]
    if body is not None:
        out.append((b"Content-Length", str(len(body)).encode("ascii")))
    return out


def redirected_headers(headers: Headers, *, same_origin: bool, keeps_body: bool) -> Headers:
    """The headers of the next hop: all of them to the same origin; to another
    only CROSS_ORIGIN_KEPT (no Authorization, Cookie or API key header); a hop
    that drops the body drops the headers describing it."""
    kept = headers if same_origin else [h for h in headers if h[0].lower() in CROSS_ORIGIN_KEPT]
    if keeps_body:
        return list(kept)
    return [h for h in kept if h[0].lower() not in _BODY_HEADERS]


def response_headers(raw: Sequence[tuple[bytes, bytes]], limits: EgressLimits) -> Headers:
    if len(raw) > limits.max_response_headers:
        raise EgressError(
            "transport", f"the response has more than {limits.max_response_headers} headers"
        )
    decoded = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw]
    dropped = HOP_BY_HOP | _connection_named(decoded)
    return [(name, value) for name, value in decoded if name.lower() not in dropped]
