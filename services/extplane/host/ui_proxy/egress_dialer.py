"""The ui-proxy's default `UpstreamDialer`: the egress guard of `http.fetch`.

A route's upstream is the operator's choice (the registry's routes), never the
guest's, but the URL the proxy builds still passes every check a fetch does:
one parser, the resolved addresses checked, the connection pinned to them, no
redirect followed. Its allowlist is the URL's own origin, so only the address
checks can refuse it: an upstream on a loopback, private or metadata address
needs its network in `ui_proxy_allowed_networks`, as an `http.fetch` needs an
IP/CIDR entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from extplane.host.egress import Allowlist, EgressError, EgressGuard, OutboundRequest
from extplane.host.ui_proxy.dialer import (
    UpstreamResponse,
    UpstreamTooLargeError,
    UpstreamUnreachableError,
)


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{host}{port}"


class EgressDialer:
    """`guard` must follow no redirect (`EgressLimits(max_redirects=0)`): a 3xx is
    the upstream's answer. `allowed_networks`: CIDRs (or addresses) an upstream may
    resolve into although they are refused ranges."""

    def __init__(self, guard: EgressGuard, allowed_networks: Sequence[str] = ()) -> None:
        if guard.limits.max_redirects:
            raise ValueError("the ui-proxy's guard must follow no redirect")
        self._guard = guard
        self._networks = tuple(allowed_networks)

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
        allowlist = Allowlist.parse([_origin(url), *self._networks])
        request = OutboundRequest(method, url, headers=tuple(headers), body=body)
        try:
            async with asyncio.timeout(timeout_s):
                answer = await self._guard.send(request, allowlist)
        except TimeoutError:
            raise UpstreamUnreachableError("the upstream did not answer in time") from None
        except EgressError as error:
            # The detail names the origin only, never the path or query.
            raise UpstreamUnreachableError(f"{error.kind}: {error.detail}") from None
        payload = answer.body or b""
        if len(payload) > max_response_bytes:
            raise UpstreamTooLargeError(
                f"the upstream answered more than {max_response_bytes} bytes"
            )
        return UpstreamResponse(answer.status, payload)

    async def aclose(self) -> None:
        return None
