"""The route a guest calls, checked and split into path segments and a query.

A call names `route[/more/path][?query]`. Anything that could make the
upstream see another path than the one checked here is refused
(`BadRouteError`): `.` and `..` segments (also as `..;x`, as some servers read
them), empty segments (`a//b`, a leading `/`, so never a scheme-relative
`//host`; one trailing `/` is kept, as REST APIs often need it), a scheme
(`http:`, an absolute URL), backslashes, fragments, control and non-ASCII
characters, and percent-encodings that decode to a separator, a dot segment,
a control character, invalid UTF-8 or another `%` (double encoding). Every
other character outside RFC 3986's path characters is refused too, so what
is checked is byte for byte what is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

MAX_ROUTE_CHARS = 2048

# RFC 3986 pchar without '%' (checked apart): unreserved, sub-delims, ':' and '@'.
_PCHAR = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@]*")
# A query may also hold '/' and '?'.
_QUERY_CHAR = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_DOT_SEGMENTS = frozenset({".", ".."})


class BadRouteError(ValueError):
    """Why a called route is refused (`bad-request`); never echoes the route itself."""


@dataclass(frozen=True, slots=True)
class CalledRoute:
    """A checked call: its path segments (still percent-encoded, as sent), its
    query (without the '?'; None when there was none), and whether its path
    ended in one '/'."""

    segments: tuple[str, ...]
    query: str | None
    trailing_slash: bool = False

    def after(self, prefix: int) -> tuple[str, ...]:
        """The segments past the first `prefix`: what is appended upstream."""
        return self.segments[prefix:]


def _escapes_problem(text: str) -> str | None:
    """The percent-escapes of `text`, each well-formed, decoded once, and not
    hiding what the raw characters may not hold."""
    stripped = _ESCAPE.sub("", text)
    if "%" in stripped:
        return "a '%' not followed by two hex digits"
    decoded = unquote_to_bytes(text)
    if any(b < 0x20 or b == 0x7F for b in decoded):
        return "an encoded control character"
    # Only '%25' decodes to '%': whatever follows it is an encoding of an encoding.
    if b"%" in decoded:
        return "double percent-encoding"
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        return "percent-encoding that is not UTF-8"
    return None


def _segment_problem(segment: str) -> str | None:
    if not segment:
        return "an empty path segment ('//', or a leading '/')"
    if not _PCHAR.fullmatch(segment.replace("%", "")):
        return "a character outside A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = : @ %"
    problem = _escapes_problem(segment)
    if problem is not None:
        return problem
    decoded = unquote_to_bytes(segment)
    if b"/" in decoded or b"\\" in decoded:
        return "an encoded path separator"
    # `..;jsessionid` is `..` to servlet containers; `%2e%2e` is `..` to most servers.
    if segment.split(";", 1)[0] in _DOT_SEGMENTS or decoded.split(b";", 1)[0] in (b".", b".."):
        return "a '.' or '..' segment"
    return None


def parse_route(route: str) -> CalledRoute:
    """The checked route; BadRouteError saying what is wrong with it."""
    if not route:
        raise BadRouteError("route is required")
    if len(route) > MAX_ROUTE_CHARS:
        raise BadRouteError(f"route is longer than {MAX_ROUTE_CHARS} characters")
    if not route.isascii() or any(c < " " or c == "\x7f" for c in route):
        raise BadRouteError("route holds a control or non-ASCII character")
    if "\\" in route:
        raise BadRouteError("route holds a backslash")
    if "#" in route:
        raise BadRouteError("route holds a fragment ('#')")
    path, mark, query = route.partition("?")
    if _SCHEME.match(path):
        raise BadRouteError("route must be a path, not an absolute URL")
    trailing_slash = len(path) > 1 and path.endswith("/")
    segments = tuple((path[:-1] if trailing_slash else path).split("/"))
    for segment in segments:
        problem = _segment_problem(segment)
        if problem is not None:
            raise BadRouteError(f"route holds {problem}")
    if mark:
        if not _QUERY_CHAR.fullmatch(query.replace("%", "")):
            raise BadRouteError("route's query holds a character outside RFC 3986's")
        problem = _escapes_problem(query)
        if problem is not None:
            raise BadRouteError(f"route's query holds {problem}")
    return CalledRoute(segments, query if mark else None, trailing_slash)


def route_segments(name: str) -> tuple[str, ...]:
    """A configured route name as segments (the registry checked its shape)."""
    return tuple(name.split("/"))
