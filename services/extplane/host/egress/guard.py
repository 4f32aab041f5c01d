"""The egress guard: one outbound request, refused or sent, hop by hop.

For each hop: parse the URL once (`target`), match it against the install's
allowlist, resolve the name (unless the URL names an address), refuse when ANY
resolved address is in a refused range that no IP/CIDR entry names
(`addresses`), then connect only to those checked addresses (`connect`) with
TLS verifying the name. Redirects (301/302/303/307/308 with a Location) are
followed up to `max_redirects`, each hop checked again from scratch as a new
request; 307/308 keep the method and body, the others become GET without a
body (HEAD stays HEAD); a hop to another origin keeps only harmless headers.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import certifi
import httpcore

from extplane.host.egress.addresses import IPAddress, exempted, refusal
from extplane.host.egress.allowlist import Allowlist
from extplane.host.egress.connect import PinnedBackend, default_dialer
from extplane.host.egress.errors import EgressError
from extplane.host.egress.headers import (
    Headers,
    check_method,
    guest_headers,
    redirected_headers,
    response_headers,
    wire_headers,
)
from extplane.host.egress.limits import EgressLimits
from extplane.host.egress.messages import InboundResponse, OutboundRequest
from extplane.host.egress.resolver import Resolver, SystemResolver
from extplane.host.egress.target import Target, join, parse_target

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_BODYLESS = frozenset({204, 304})
_TRANSPORT_ERRORS = (httpcore.NetworkError, httpcore.TimeoutException, httpcore.ProtocolError)

_logger = logging.getLogger(__name__)


def tls_context(extra_ca_file: Path | None = None) -> ssl.SSLContext:
    """Certificate-verifying TLS 1.2+ over certifi's roots (plus `extra_ca_file`)."""
    context = ssl.create_default_context(cafile=certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if extra_ca_file is not None:
        context.load_verify_locations(cafile=str(extra_ca_file))
    return context


@dataclass
class _Traffic:
    sent: int = 0
    received: int = 0


@dataclass(frozen=True)
class _Hop:
    method: str
    target: Target
    headers: Headers
    body: bytes | None


class EgressGuard:
    """`resolver` (default: the system's) and `network_backend` (the httpcore
    backend that opens the TCP connections, always to checked addresses; default:
    the real network) are injectable so tests answer names and refuse to dial
    outside loopback. `tls` defaults to `tls_context()`."""

    def __init__(
        self,
        *,
        resolver: Resolver | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        limits: EgressLimits | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.resolver: Resolver = resolver or SystemResolver()
        self.limits = limits or EgressLimits()
        self._dialer = network_backend or default_dialer()
        self._tls = tls or tls_context()

    async def send(self, request: OutboundRequest, allowlist: Allowlist) -> InboundResponse:
        """The destination's response, whatever its status; EgressError otherwise."""
        traffic = _Traffic()
        target = parse_target(request.url)
        try:
            first = self._first_hop(request, target)
            async with asyncio.timeout(self.limits.total_timeout_s):
                return await self._follow(first, allowlist, traffic)
        except TimeoutError:
            error = EgressError(
                "transport",
                f"{target}: no complete answer within {self.limits.total_timeout_s:g}s",
                host=target.host,
            )
            raise self._counted(error, traffic) from None
        except EgressError as error:
            error.host = error.host or target.host
            raise self._counted(error, traffic) from None
        except Exception:
            # A bug here must still answer a kind, and name nothing of the request.
            _logger.exception("egress to %s failed inside the host", target)
            failed = EgressError("internal", "the host failed", host=target.host)
            raise self._counted(failed, traffic) from None

    @staticmethod
    def _counted(error: EgressError, traffic: _Traffic) -> EgressError:
        error.sent, error.received = traffic.sent, traffic.received
        return error

    def _first_hop(self, request: OutboundRequest, target: Target) -> _Hop:
        method = check_method(request.method)
        headers = guest_headers(request.headers, target, self.limits)
        if request.body is not None and len(request.body) > self.limits.max_request_bytes:
            raise EgressError(
                "transport", f"request.body: more than {self.limits.max_request_bytes} bytes"
            )
        return _Hop(method, target, headers, request.body)

    async def _follow(self, hop: _Hop, allowlist: Allowlist, traffic: _Traffic) -> InboundResponse:
        for redirects in range(self.limits.max_redirects + 1):
            where = f"redirect {redirects}: " if redirects else ""
            try:
                addresses = await self._checked(hop.target, allowlist)
            except EgressError as error:
                error.detail = where + error.detail
                error.host = hop.target.host
                raise
            status, headers, body = await self._exchange(hop, addresses, traffic)
            location = _location(headers)
            if status not in REDIRECTS or location is None or not self.limits.max_redirects:
                return InboundResponse(
                    status=status,
                    headers=tuple(headers),
                    body=body,
                    url=str(hop.target),
                    redirects=redirects,
                    sent=traffic.sent,
                    received=traffic.received,
                )
            if redirects == self.limits.max_redirects:
                break
            try:
                hop = _redirected(hop, status, join(hop.target, location))
            except EgressError as error:
                error.detail = f"redirect {redirects + 1}: {error.detail}"
                raise
        raise EgressError("transport", f"more than {self.limits.max_redirects} redirects")

    async def _checked(self, target: Target, allowlist: Allowlist) -> Sequence[IPAddress]:
        if allowlist.admitting(target) is None:
            raise EgressError("not-allowed", f"{target} is not in the install's egress allowlist")
        if target.ip is not None:
            addresses: Sequence[IPAddress] = (target.ip,)
        else:
            try:
                async with asyncio.timeout(self.limits.connect_timeout_s):
                    addresses = await self.resolver.resolve(target.host, target.port)
            except (OSError, TimeoutError, UnicodeError):
                raise EgressError("transport", f"{target.host} does not resolve") from None
            if not addresses:
                raise EgressError("transport", f"{target.host} does not resolve")
        networks = allowlist.networks
        for address in addresses:
            why = refusal(address)
            if why is not None and not exempted(address, networks):
                raise EgressError("not-allowed", f"{target} resolves to a refused address ({why})")
        return addresses

    async def _exchange(
        self, hop: _Hop, addresses: Sequence[IPAddress], traffic: _Traffic
    ) -> tuple[int, Headers, bytes | None]:
        target = hop.target
        backend = PinnedBackend(self._dialer, target.host, target.port, addresses)
        scheme, host = target.scheme.encode(), target.host.encode("ascii")
        connection = httpcore.AsyncHTTPConnection(
            httpcore.Origin(scheme, host, target.port),
            ssl_context=self._tls if target.scheme == "https" else None,
            network_backend=backend,
            http1=True,
            http2=False,
        )
        lines = wire_headers(hop.headers, target, hop.body)
        request = httpcore.Request(
            hop.method,
            httpcore.URL(scheme=scheme, host=host, port=target.port, target=target.request_target),
            headers=lines,
            content=hop.body or b"",
            extensions={
                "timeout": {
                    "connect": self.limits.connect_timeout_s,
                    "read": self.limits.total_timeout_s,
                    "write": self.limits.total_timeout_s,
                    "pool": self.limits.connect_timeout_s,
                },
                "sni_hostname": target.host,
            },
        )
        traffic.sent += len(hop.method) + len(target.request_target) + 12
        traffic.sent += sum(len(n) + len(v) + 4 for n, v in lines) + len(hop.body or b"")
        try:
            try:
                response = await connection.handle_async_request(request)
                try:
                    traffic.received += sum(len(n) + len(v) + 4 for n, v in response.headers)
                    headers = response_headers(response.headers, self.limits)
                    body = await self._body(response, traffic)
                finally:
                    await response.aclose()
            finally:
                await connection.aclose()
        except httpcore.ConnectTimeout:
            raise EgressError("transport", f"{target}: connecting timed out") from None
        except httpcore.ConnectError:
            raise EgressError("transport", f"{target}: could not connect (TCP or TLS)") from None
        except httpcore.LocalProtocolError:
            raise EgressError(
                "invalid-url", f"{target}: the request is not valid HTTP/1.1"
            ) from None
        except _TRANSPORT_ERRORS as error:
            raise EgressError("transport", f"{target}: {type(error).__name__}") from None
        except (ssl.SSLError, OSError) as error:
            raise EgressError("transport", f"{target}: {type(error).__name__}") from None
        if hop.method.upper() == "HEAD" or response.status < 200 or response.status in _BODYLESS:
            return response.status, headers, None
        return response.status, headers, body

    async def _body(self, response: httpcore.Response, traffic: _Traffic) -> bytes:
        cap = self.limits.max_response_bytes
        declared = _content_length(response.headers)
        if declared is not None and declared > cap:
            raise EgressError("transport", f"the response body is over {cap} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_stream():
            size += len(chunk)
            traffic.received += len(chunk)
            if size > cap:
                raise EgressError("transport", f"the response body is over {cap} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _content_length(headers: Sequence[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length" and value.strip().isdigit():
            return int(value)
    return None


def _location(headers: Headers) -> str | None:
    return next((value for name, value in headers if name.lower() == "location"), None)


def _redirected(hop: _Hop, status: int, target: Target) -> _Hop:
    keeps_body = status in (307, 308)
    method = hop.method
    if not keeps_body and method.upper() != "HEAD":
        method = "GET"
    same_origin = target.origin == hop.target.origin
    headers = redirected_headers(hop.headers, same_origin=same_origin, keeps_body=keeps_body)
    return _Hop(method, target, headers, hop.body if keeps_body else None)
