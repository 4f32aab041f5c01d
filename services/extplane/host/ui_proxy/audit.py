"""A refused ui-proxy call as an audit event: a route no route of the install
matches (`route-not-found`) or a route the proxy will not forward
(`bad-request`). Capability denials are the interceptor's events already.

Action `ui_proxy_deny`, actor the install (`extension/<id>@<install>`),
resource `install/<tenant>/<install id>/ui-proxy`, namespace the tenant,
outcome `denied`; details the variant, the reason and the route called,
cut to ROUTE_CHARS (routes are the guest's, never secret).
"""

from __future__ import annotations

from collections.abc import Callable

from extplane.host.claims import InstallClaims
from extplane.host.denial_audit import refusal_event
from extplane_client import AuditSink

ACTION = "ui_proxy_deny"
ROUTE_CHARS = 256


class ProxyRefusals:
    def __init__(self, sink: Callable[[], AuditSink | None], clock_ns: Callable[[], int]) -> None:
        self._sink = sink
        self._clock_ns = clock_ns

    def record(self, claims: InstallClaims, variant: str, route: str, reason: str) -> None:
        sink = self._sink()
        if sink is None:
            return
        details = {
            "variant": variant,
            "reason": reason,
            # repr: a control character the call held is shown, never interpreted.
            "route": repr(route[:ROUTE_CHARS]),
        }
        sink.record(
            refusal_event(
                claims,
                action=ACTION,
                resource=f"install/{claims.tenant_id}/{claims.install_id}/ui-proxy",
                details=details,
                now_ns=self._clock_ns,
            )
        )
