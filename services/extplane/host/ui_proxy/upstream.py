"""Sending a selected call upstream: the headers it carries, the route's secret
when it names one, and the upstream's answer mapped (`answers`).

The upstream learns who is calling from the verified token, in
`x-request-id` (the token's, else a fresh UUIDv7), `x-extplane-tenant`,
`x-extplane-extension` and `x-extplane-install`; nothing else of the host
or the guest travels (no token, no cookie, no guest header). A route that
names a secret adds exactly one header carrying it, read from the vault at
each call (so a rotated or expired secret is honoured at once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import uuid_utils

from extplane.host.alga_error import AlgaVariantError
from extplane.host.claims import InstallClaims
from extplane.host.installs.model import Route
from extplane.host.installs.store import InstallStore
from extplane.host.secrets.sealing import SecretAddress
from extplane.host.secrets.vault import SecretVault
from extplane.host.ui_proxy.answers import answered, internal
from extplane.host.ui_proxy.dialer import UpstreamDialer, UpstreamError, UpstreamResponse
from extplane.host.ui_proxy.handlers import RunnerHandlers, RunnerNotConfiguredError
from extplane.host.ui_proxy.routing import Selected

USER_AGENT = "extplane-ui-proxy"
DEFAULT_SECRET_HEADER = "Authorization"
_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F))


def _header_value(value: str) -> str:
    """`value` as is when it is printable ASCII, else percent-encoded (so a
    header can never be split or smuggled by what a claim holds)."""
    return value if _PRINTABLE.issuperset(value) else quote(value, safe="")


def identity_headers(claims: InstallClaims, request_id: str) -> list[tuple[str, str]]:
    return [
        ("x-request-id", _header_value(request_id)),
        ("x-extplane-tenant", _header_value(claims.tenant_id)),
        ("x-extplane-extension", _header_value(claims.extension_id)),
        ("x-extplane-install", _header_value(claims.install_id)),
        ("user-agent", USER_AGENT),
        # The body is passed on as sent, and the size bound applies to what is read.
        ("accept-encoding", "identity"),
    ]


@dataclass
class Upstreams:
    installs: InstallStore
    vault: Callable[[], SecretVault]
    dialer: UpstreamDialer
    handlers: RunnerHandlers
    max_response_bytes: int

    async def _secret(self, claims: InstallClaims, route: Route) -> list[tuple[str, str]]:
        if not route.secret_key:
            return []
        at = SecretAddress(claims.tenant_id, claims.install_id, route.secret_key)
        try:
            value = await self.vault().read(at)
        except AlgaVariantError as error:
            # The secret's variant, its key: never its value.
            raise internal(
                f"the route's secret {route.secret_key!r} cannot be read ({error.variant.name})"
            ) from None
        if not value or not _PRINTABLE.issuperset(value):
            raise internal(f"the route's secret {route.secret_key!r} is not a valid header value")
        if route.secret_header:
            return [(route.secret_header, value)]
        return [(DEFAULT_SECRET_HEADER, f"Bearer {value}")]

    async def forward(
        self, claims: InstallClaims, selected: Selected, body: bytes | None, *, timeout_s: float
    ) -> bytes:
        """The upstream's payload, or the ProxyError variant its answer maps to."""
        if timeout_s <= 0:
            raise internal("the call's deadline passed before the upstream was asked")
        method = "GET" if body is None else "POST"
        request_id = claims.request_id or str(uuid_utils.uuid7())
        headers = identity_headers(claims, request_id)
        if body is not None:
            headers.append(("content-type", "application/octet-stream"))
        headers += await self._secret(claims, selected.route)
        try:
            response = await self._send(
                claims, selected, method, headers, body, timeout_s, request_id
            )
        except (UpstreamError, RunnerNotConfiguredError) as error:
            raise internal(str(error)) from None
        return answered(response.status, response.body)

    async def _send(
        self,
        claims: InstallClaims,
        selected: Selected,
        method: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        timeout_s: float,
        request_id: str,
    ) -> UpstreamResponse:
        target_id = selected.extension_install
        if target_id is None:
            return await self.dialer.send(
                method,
                selected.http_url(),
                headers,
                body,
                timeout_s=timeout_s,
                max_response_bytes=self.max_response_bytes,
            )
        # The caller's tenant only: an install id never reaches across tenants.
        target = await self.installs.get(claims.tenant_id, target_id)
        if target is None or not target.enabled:
            raise internal(
                f"the route's upstream {target_id!r} is no enabled install of this tenant"
            )
        return await self.handlers.execute(
            target,
            request_id=request_id,
            method=method,
            path=selected.path_and_query(),
            headers=headers,
            body=body,
            timeout_s=timeout_s,
            max_response_bytes=self.max_response_bytes,
        )
