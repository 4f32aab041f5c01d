"""The one URL parser of egress: what it decides is both checked and dialled.

`parse_target` runs `httpx.URL` (RFC 3986, IDNA 2008 for Unicode hosts,
Unicode full stops such as U+3002 and U+FF0E read as dots, dot segments
removed) and then refuses what a second parser could read differently:
userinfo, backslashes, schemes other than http/https, ports outside 1-65535,
host characters outside a lower-case DNS name, IPv6 zone ids. A host whose
last label is a number is read as an IPv4 address the way browsers and
`inet_aton` do (`127.1`, `0177.0.0.1`, `0x7f000001`, `2130706433`), so it is
judged as the address it means and never handed to a resolver as a name.

The `Target` it returns is the only thing the guard matches, resolves and
sends: the request line, `Host` and TLS SNI all come from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

import httpx

from extplane.host.egress.addresses import IPAddress
from extplane.host.egress.errors import EgressError

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_URL_CHARS = 8192
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")


@dataclass(frozen=True)
class Target:
    """A checked destination: `host` is lower-case ASCII without a trailing dot
    (an IPv6 address without brackets); `ip` is set when the URL names an
    address; `port` is the effective port; `request_target` the path and query."""

    url: httpx.URL
    scheme: str
    host: str
    ip: IPAddress | None
    port: int
    request_target: bytes

    @property
    def path(self) -> str:
        return self.request_target.split(b"?", 1)[0].decode("ascii")

    @property
    def authority(self) -> str:
        """The `Host` header: the host, bracketed when IPv6, and a non-default port."""
        host = f"[{self.host}]" if isinstance(self.ip, IPv6Address) else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    def __str__(self) -> str:
        """The origin only: what details and audit events may show."""
        return f"{self.scheme}://{self.authority}"


def _invalid(detail: str) -> EgressError:
    return EgressError("invalid-url", detail)


def ipv4_of_number_host(host: str) -> IPv4Address | None:
    """The IPv4 address a host ending in a numeric label means (WHATWG / inet_aton:
    1 to 4 parts, each decimal, octal with a leading 0, or hex with 0x; the last
    part fills the remaining bytes). None when the last label is not numeric;
    EgressError `invalid-url` when it is but the whole is no address."""
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts = parts[:-1]
    if not _NUMERIC_LABEL.fullmatch(parts[-1]):
        return None
    if len(parts) > 4 or not all(_NUMERIC_LABEL.fullmatch(p) for p in parts):
        raise _invalid(f"host {host!r} ends in a number but is not an IPv4 address")
    numbers = []
    for part in parts:
        if part[:2].lower() == "0x":
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not all(c in "01234567" for c in part):
                raise _invalid(f"host {host!r} has a bad octal part")
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part))
    *front, last = numbers
    if any(n > 255 for n in front) or last >= 256 ** (5 - len(numbers)):
        raise _invalid(f"host {host!r} is out of the IPv4 range")
    value = last
    for index, number in enumerate(front):
        value += number << (8 * (3 - index))
    return IPv4Address(value)


def _host_of(raw: str) -> tuple[str, IPAddress | None]:
    if ":" in raw:
        if "%" in raw:
            raise _invalid("an IPv6 zone id is not a destination")
        try:
            return raw, IPv6Address(raw)
        except ValueError:
            raise _invalid("host is not a valid IPv6 address") from None
    if not raw:
        raise _invalid("the URL has no host")
    number = ipv4_of_number_host(raw)
    if number is not None:
        return str(number), number
    name = raw[:-1] if raw.endswith(".") else raw
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _invalid(f"host {name[:64]!r} is not a DNS name")
    return name, None


def parse_target(url: str) -> Target:
    """The destination `url` names, or EgressError `invalid-url` (the detail
    never quotes the path or query)."""
    if len(url) > MAX_URL_CHARS:
        raise _invalid(f"the URL is longer than {MAX_URL_CHARS} characters")
    if "\\" in url:
        raise _invalid("backslashes are not allowed in a URL")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise _invalid("whitespace and control characters are not allowed in a URL")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError, ValueError) as error:
        reason = "the URL does not parse"
        if isinstance(error, httpx.InvalidURL) and "IDNA" in str(error):
            reason = "the host is not a valid internationalised name"
        raise _invalid(reason) from None
    scheme = parsed.scheme
    if scheme not in DEFAULT_PORTS:
        raise _invalid("only http and https URLs may be fetched")
    if parsed.userinfo:
        raise _invalid("a URL must not carry user info")
    try:
        raw_host = parsed.raw_host.decode("ascii").lower()
    except UnicodeDecodeError:
        raise _invalid("the host is not ASCII after IDNA encoding") from None
    host, ip = _host_of(raw_host)
    port = DEFAULT_PORTS[scheme] if parsed.port is None else parsed.port
    if not 1 <= port <= 65535:
        raise _invalid("port must be 1-65535")
    request_target = parsed.raw_path or b"/"
    if not request_target.startswith(b"/"):
        raise _invalid("the URL has no host")
    return Target(parsed, scheme, host, ip, port, request_target)


def join(base: Target, location: str) -> Target:
    """A redirect's `Location`, relative to `base`, through the same checks."""
    if "\\" in location or any(c.isspace() or ord(c) < 0x20 for c in location):
        raise _invalid("the redirect location is malformed")
    try:
        joined = base.url.join(location)
    except (httpx.InvalidURL, UnicodeError, ValueError):
        raise _invalid("the redirect location does not parse") from None
    return parse_target(str(joined))
