"""The audit event of a refused capability: who tried which host function.

Recorded through an `extplane_client.AuditSink` (a `GrpcAuditSink` to the
audit service, or `NoopAuditSink` when none is configured); `record` never
blocks nor raises, so auditing cannot slow or fail the refusal itself.
Token failures are not recorded here: an unverified token names no actor
that could be trusted.
"""

from __future__ import annotations

import time

import uuid_utils
from google.protobuf.timestamp_pb2 import Timestamp

from extplane.host.claims import InstallClaims
from extplane.host.contract import Requirement
from extplane_client.audit_sink import AuditEvent

ACTION = "capability_deny"
OUTCOME = "denied"


def denial_event(claims: InstallClaims, requirement: Requirement) -> AuditEvent:
    timestamp = Timestamp()
    timestamp.FromNanoseconds(time.time_ns())
    details = {
        "capability": requirement.capability,
        "extension": claims.extension_id,
        "install": claims.install_id,
        "token_id": claims.token_id,
    }
    if claims.request_id is not None:
        details["request_id"] = claims.request_id
    return AuditEvent(
        timestamp=timestamp,
        action=ACTION,
        actor=claims.actor,
        resource=f"{requirement.service}.{requirement.method}",
        namespace=claims.tenant_id,
        outcome=OUTCOME,
        details=details,
        event_id=str(uuid_utils.uuid7()),
    )
