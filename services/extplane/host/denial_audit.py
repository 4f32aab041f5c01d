"""The audit event of a refused capability: who tried which host function.

Recorded through an `extplane_client.AuditSink` (a `GrpcAuditSink` to the
audit service, or `NoopAuditSink` when none is configured); `record` never
blocks nor raises, so auditing cannot slow or fail the refusal itself.
Token failures are not recorded here: an unverified token names no actor
that could be trusted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import uuid_utils
from google.protobuf.timestamp_pb2 import Timestamp

from extplane.host.claims import InstallClaims
from extplane.host.contract import Requirement
from extplane_client.audit_sink import AuditEvent

ACTION = "capability_deny"
OUTCOME = "denied"


def refusal_event(
    claims: InstallClaims,
    *,
    action: str,
    resource: str,
    details: Mapping[str, str],
    now_ns: Callable[[], int] = time.time_ns,
) -> AuditEvent:
    """What the host refused an install, the one shape every provider records it in:
    actor the install, namespace its tenant, outcome `denied`; `details` plus the
    extension, install, token id and (when the token has one) request id."""
    timestamp = Timestamp()
    timestamp.FromNanoseconds(now_ns())
    described = {
        **details,
        "extension": claims.extension_id,
        "install": claims.install_id,
        "token_id": claims.token_id,
    }
    if claims.request_id is not None:
        described["request_id"] = claims.request_id
    return AuditEvent(
        timestamp=timestamp,
        action=action,
        actor=claims.actor,
        resource=resource,
        namespace=claims.tenant_id,
        outcome=OUTCOME,
        details=described,
        event_id=str(uuid_utils.uuid7()),
    )


def denial_event(claims: InstallClaims, requirement: Requirement) -> AuditEvent:
    return refusal_event(
        claims,
        action=ACTION,
        resource=f"{requirement.service}.{requirement.method}",
        details={"capability": requirement.capability},
    )
