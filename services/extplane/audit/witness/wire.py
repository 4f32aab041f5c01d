"""A checkpoint as a witness keeps it: a JSON object (the protojson of
`AuditCheckpoint`, as the gateway and `extplane audit checkpoints` write it),
or an audit event recorded at a remote audit service."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from google.protobuf import json_format

from extplane.audit.chain.records import Checkpoint
from extplane.audit.chain.signing import signature_text
from extplane.audit.to_proto import checkpoint_to_proto
from extplane.audit.verify.export_source import checkpoint_of_json
from extplane_protos.orloj.extensions.v1 import audit_pb2

# What a checkpoint is at a remote witness: one event of its log.
WITNESS_ACTION = "audit.checkpoint"
WITNESS_ACTOR = "extplane.audit.witness"


def checkpoint_json(checkpoint: Checkpoint) -> str:
    """One line: the checkpoint's protojson, without whitespace."""
    value = json_format.MessageToDict(checkpoint_to_proto(checkpoint))
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def witness_resource(origin: str) -> str:
    """The resource naming the witnessed log at a remote witness."""
    return f"audit-log/{origin}"


def checkpoint_event(checkpoint: Checkpoint, origin: str) -> audit_pb2.AuditEvent:
    """The event a remote witness records; its id makes a repeat a duplicate."""
    event = audit_pb2.AuditEvent(
        action=WITNESS_ACTION,
        actor=WITNESS_ACTOR,
        resource=witness_resource(origin),
        outcome="allowed",
        event_id=f"checkpoint:{origin}:{checkpoint.sequence}",
        details={
            "sequence": str(checkpoint.sequence),
            "hash": checkpoint.hash.hex(),
            "create_time_ns": str(checkpoint.create_time_ns),
            "key_id": checkpoint.key_id,
            "signature": signature_text(checkpoint.signature),
        },
    )
    event.timestamp.FromNanoseconds(checkpoint.create_time_ns)
    return event


def checkpoint_of_event_details(details: Mapping[str, str]) -> Checkpoint:
    """The checkpoint a remote witness's event holds (ValueError/KeyError when not one)."""
    return Checkpoint(
        int(details["sequence"]),
        bytes.fromhex(details["hash"]),
        int(details["create_time_ns"]),
        details["key_id"],
        base64.b64decode(details["signature"], validate=True),
    )


__all__ = [
    "WITNESS_ACTION",
    "checkpoint_event",
    "checkpoint_json",
    "checkpoint_of_event_details",
    "checkpoint_of_json",
    "witness_resource",
]
