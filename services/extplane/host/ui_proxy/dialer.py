"""How the ui-proxy reaches an HTTP upstream: one small interface, `UpstreamDialer`;
its default is the egress guard's (`egress_dialer.EgressDialer`).

The proxy decides *what* to send (method, the URL it built from a checked
route, headers, body) and the bounds; a dialer only sends it. The host wires
the egress guard in as the dialer (`UiProxyPart(dialer=...)`), so upstreams
go through the same address checks as `http.fetch`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


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
