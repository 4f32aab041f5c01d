"""Every refused fetch as an audit event: who tried to reach which host.

Action `egress_deny`, outcome `denied`, actor the install's, resource
`http.fetch`, namespace the tenant; details the kind, the URL's host (never its
path or query), the refusal's detail, and what `denial_audit.refusal_event`
adds (install, extension, token and request ids). `record`
never blocks nor raises (an `AuditSink`), so auditing cannot fail a refusal.
"""

from __future__ import annotations

from collections.abc import Callable

from extplane.host.claims import InstallClaims
from extplane.host.denial_audit import refusal_event as install_refusal
from extplane.host.egress.errors import EgressError
from extplane_client import AuditSink
from extplane_client.audit_sink import AuditEvent

ACTION = "egress_deny"
RESOURCE = "http.fetch"


def refusal_event(claims: InstallClaims, error: EgressError) -> AuditEvent:
    return install_refusal(
        claims,
        action=ACTION,
        resource=RESOURCE,
        details={"kind": error.kind, "host": error.host, "reason": error.detail},
    )


class EgressRefusals:
    def __init__(self, sink: Callable[[], AuditSink | None]) -> None:
        self._sink = sink

    def record(self, claims: InstallClaims, error: EgressError) -> None:
        sink = self._sink()
        if sink is not None:
            sink.record(refusal_event(claims, error))
