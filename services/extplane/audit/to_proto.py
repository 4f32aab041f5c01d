"""Stored values as the protos of the contract."""

from __future__ import annotations

import json
import logging

from extplane.audit.chain.records import Checkpoint, StoredRecord
from extplane.audit.chain.signing import signature_text
from extplane.audit.verify.verifier import Verdict
from extplane_protos.orloj.extensions.v1 import audit_pb2, audit_query_pb2

_logger = logging.getLogger(__name__)


def details_map(details: str, sequence: int) -> dict[str, str]:
    """The stored canonical JSON as a map. Text someone edited into something
    else still lists (as an empty map); verification reports the edit."""
    try:
        value = json.loads(details)
    except ValueError:
        value = None
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return value
    _logger.warning("audit record %d: details are not a JSON object of strings", sequence)
    return {}


def record_to_proto(record: StoredRecord) -> audit_query_pb2.AuditRecord:
    event = audit_pb2.AuditEvent(
        action=record.action,
        actor=record.actor,
        resource=record.resource,
        namespace=record.namespace,
        outcome=record.outcome,
        details=details_map(record.details, record.sequence),
        event_id=record.event_id,
    )
    event.timestamp.FromNanoseconds(record.timestamp_ns)
    proto = audit_query_pb2.AuditRecord(
        sequence=record.sequence,
        event=event,
        hash=record.hash.hex(),
        previous_hash=record.previous_hash.hex(),
        principal=record.principal,
        canonical_version=record.canonical_version,
    )
    proto.receive_time.FromNanoseconds(record.receive_time_ns)
    return proto


def checkpoint_to_proto(checkpoint: Checkpoint) -> audit_query_pb2.AuditCheckpoint:
    proto = audit_query_pb2.AuditCheckpoint(
        sequence=checkpoint.sequence,
        hash=checkpoint.hash.hex(),
        key_id=checkpoint.key_id,
        signature=signature_text(checkpoint.signature),
    )
    proto.create_time.FromNanoseconds(checkpoint.create_time_ns)
    return proto


def verdict_to_proto(verdict: Verdict) -> audit_query_pb2.VerifyAuditLogResponse:
    proto = audit_query_pb2.VerifyAuditLogResponse(
        intact=verdict.intact,
        from_sequence=verdict.from_sequence,
        to_sequence=verdict.to_sequence,
        records_verified=verdict.records_verified,
        checkpoints_verified=verdict.checkpoints_verified,
        head_hash=verdict.head_hash.hex(),
    )
    problem = verdict.problem
    if problem is not None:
        proto.first_problem.sequence = problem.sequence
        proto.first_problem.kind = audit_query_pb2.AuditTamperKind.ValueType(int(problem.kind))
        proto.first_problem.detail = problem.detail
    return proto
