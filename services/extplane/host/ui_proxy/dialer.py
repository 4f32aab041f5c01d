"""How the ui-proxy reaches an HTTP upstream: one small interface, `UpstreamDialer`,
and its default, `HttpxDialer`.

The proxy decides *what* to send (method, the URL it built from a checked
route, headers, body) and the bounds; a dialer only sends it. The host wires
the egress guard in as the dialer (`UiProxyPart(dialer=...)`), so upstreams
go through the same address checks as `http.fetch`. `HttpxDialer` is the
stand-alone default: upstream hosts are the operator's (the registry's
routes), never the guest's, so it dials them as configured, but follows no
redirect, reads at most `max_response_bytes` and gives up after `timeout_s`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx


class UpstreamError(Exception):
    """An upstream gave no usable answer; the message names no secret."""


class UpstreamUnreachableError(UpstreamError):
    """Refused, not connected, not answered in time, or the answer broke off."""


class UpstreamTooLargeError(UpstreamError):
    """The response body is longer than the bound (never truncated silently)."""


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    body: bytes


class UpstreamDialer(Protocol):
    async def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        *,
        timeout_s: float,
        max_response_bytes: int,
    ) -> UpstreamResponse:
        """Send one request to the absolute `url` as given (no redirect followed) and
        read its whole answer within `timeout_s` seconds in total; raise
        UpstreamUnreachableError or UpstreamTooLargeError (a body over
        `max_response_bytes`), never anything else for the upstream's faults."""
        ...

    async def aclose(self) -> None:
        """Release connections; safe twice."""
        ...


class HttpxDialer:
    """`UpstreamDialer` over one pooled `httpx.AsyncClient` (no redirects, no
    environment proxies or netrc, no cookies kept)."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, transport=transport
        )

    async def send(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        *,
        timeout_s: float,
        max_response_bytes: int,
    ) -> UpstreamResponse:
        try:
            async with asyncio.timeout(timeout_s):
                return await self._exchange(
                    method, url, headers, body, timeout_s, max_response_bytes
                )
        except TimeoutError:
            raise UpstreamUnreachableError("the upstream did not answer in time") from None

    async def _exchange(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        timeout_s: float,
        max_response_bytes: int,
    ) -> UpstreamResponse:
        request = self._client.build_request(
            method, url, headers=list(headers), content=body, timeout=timeout_s
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as error:
            raise UpstreamUnreachableError(_failure(error)) from None
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_response_bytes:
                raise UpstreamTooLargeError(f"the upstream declared {declared} bytes")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > max_response_bytes:
                    raise UpstreamTooLargeError(
                        f"the upstream answered more than {max_response_bytes} bytes"
                    )
                chunks.append(chunk)
        except httpx.HTTPError as error:
            raise UpstreamUnreachableError(_failure(error)) from None
        finally:
            await response.aclose()
        return UpstreamResponse(response.status_code, b"".join(chunks))

    async def aclose(self) -> None:
        await self._client.aclose()


def _failure(error: httpx.HTTPError) -> str:
    """What went wrong, by kind: httpx messages may quote the URL (and its query)."""
    if isinstance(error, httpx.TimeoutException):
        return "the upstream did not answer in time"
    if isinstance(error, httpx.ConnectError):
        return "the upstream refused or could not be reached"
    return f"the upstream exchange failed ({type(error).__name__})"
