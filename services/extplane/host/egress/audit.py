"""Every refused fetch as an audit event: who tried to reach which host.

Action `egress_deny`, outcome `denied`, actor the install's, resource
`http.fetch`, namespace the tenant; details the kind, the URL's host (never its
path or query), the refusal's detail, the install and extension. `record`
never blocks nor raises (an `AuditSink`), so auditing cannot fail a refusal.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import uuid_utils
from google.protobuf.timestamp_pb2 import Timestamp

from extplane.host.claims import InstallClaims
from extplane.host.egress.errors import EgressError
from extplane_client import AuditSink
from extplane_client.audit_sink import AuditEvent

ACTION = "egress_deny"
RESOURCE = "http.fetch"


def refusal_event(claims: InstallClaims, error: EgressError) -> AuditEvent:
    stamp = Timestamp()
    stamp.FromNanoseconds(time.time_ns())
    details = {
        "kind": error.kind,
        "host": error.host,
        "reason": error.detail,
        "extension": claims.extension_id,
        "install": claims.install_id,
    }
    if claims.request_id is not None:
        details["request_id"] = claims.request_id
    return AuditEvent(
        timestamp=stamp,
        action=ACTION,
        actor=claims.actor,
        resource=RESOURCE,
        namespace=claims.tenant_id,
        outcome="denied",
        details=details,
        event_id=str(uuid_utils.uuid7()),
    )


class EgressRefusals:
    def __init__(self, sink: Callable[[], AuditSink | None]) -> None:
        self._sink = sink

    def record(self, claims: InstallClaims, error: EgressError) -> None:
        sink = self._sink()
        if sink is not None:
            sink.record(refusal_event(claims, error))
