"""The runner's metering and audit events (the two Orloj contracts, for the Alga half).

Each execution that reached a handler is one `MeteringEvent`: namespace =
tenant, agent = extension, task = install, model = version, its duration
and the host calls it made (`tool_calls`); its `event_id` is the
execution's request id, so a redelivery counts once. Every refusal of an
authenticated caller, every trap, timeout and limit hit is one `AuditEvent`
(action `extension_execute`, outcome `denied` or `error`, the cause in its
details). Calls without a known token are not audited: nothing names a
trustworthy actor, and anyone could fill the log with them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import uuid_utils
from google.protobuf.timestamp_pb2 import Timestamp

from extplane_protos.orloj.extensions.v1 import audit_pb2, metering_pb2

ACTION = "extension_execute"
DENIED = "denied"
ERROR = "error"


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(time.time_ns())
    return stamp


@dataclass(frozen=True)
class Execution:
    """Who ran what: known once the install is looked up (fields empty before)."""

    request_id: str
    actor: str
    tenant: str
    install_id: str
    extension_id: str = ""
    version: str = ""


def metering_event(
    execution: Execution, *, duration_ms: int, host_calls: int
) -> metering_pb2.MeteringEvent:
    return metering_pb2.MeteringEvent(
        timestamp=_now(),
        namespace=execution.tenant,
        agent=execution.extension_id,
        task=execution.install_id,
        model=execution.version,
        duration_ms=duration_ms,
        tool_calls=host_calls,
        event_id=execution.request_id,
    )


def audit_event(
    execution: Execution, *, outcome: str, reason: str, details: Mapping[str, str]
) -> audit_pb2.AuditEvent:
    recorded = {
        "reason": reason,
        "request_id": execution.request_id,
        "install": execution.install_id,
        **details,
    }
    if execution.extension_id:
        recorded["extension"] = execution.extension_id
        recorded["version"] = execution.version
    return audit_pb2.AuditEvent(
        timestamp=_now(),
        action=ACTION,
        actor=execution.actor,
        resource=f"install/{execution.install_id}",
        namespace=execution.tenant,
        outcome=outcome,
        details=recorded,
        event_id=str(uuid_utils.uuid7()),
    )
