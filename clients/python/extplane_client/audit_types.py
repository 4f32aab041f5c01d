"""What the audit query client returns: records, checkpoints, verdicts, the key.

Times that a hash or a signature covers (`receive_time_ns`, `create_time_ns`)
are kept in nanoseconds, so a verifier can recompute them exactly; the
`datetime` properties beside them are for people (microseconds).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from extplane_protos.orloj.extensions.v1 import audit_pb2
from extplane_protos.orloj.extensions.v1 import audit_query_pb2 as pb

_KIND_PREFIX = "AUDIT_TAMPER_KIND_"


def _datetime_of_ns(value_ns: int) -> datetime:
    stamp = Timestamp()
    stamp.FromNanoseconds(value_ns)
    return stamp.ToDatetime(tzinfo=UTC)


@dataclass(frozen=True)
class AuditRecord:
    """An event as the log stored it, at its place in the hash chain.

    `event` is the generated message exactly as recorded (its timestamp keeps
    nanoseconds); `hash` and `previous_hash` are lower-case hex SHA-256.
    `principal` is who the service authenticated as its writer (empty for
    records of canonical version 1, written before it was kept).
    """

    sequence: int
    event: audit_pb2.AuditEvent
    receive_time_ns: int
    hash: str
    previous_hash: str
    principal: str = ""
    canonical_version: int = 1

    @property
    def receive_time(self) -> datetime:
        return _datetime_of_ns(self.receive_time_ns)

    @classmethod
    def from_proto(cls, record: pb.AuditRecord) -> AuditRecord:
        return cls(
            sequence=record.sequence,
            event=record.event,
            receive_time_ns=record.receive_time.ToNanoseconds(),
            hash=record.hash,
            previous_hash=record.previous_hash,
            principal=record.principal,
            canonical_version=record.canonical_version,
        )


@dataclass(frozen=True)
class AuditEventsPage:
    """One page of records; `next_page_token` is empty on the last."""

    records: tuple[AuditRecord, ...]
    next_page_token: str


@dataclass(frozen=True)
class AuditCheckpoint:
    """A signed commitment to the chain head at `sequence` (docs/audit.md)."""

    sequence: int
    hash: str
    create_time_ns: int
    key_id: str
    signature: bytes

    @property
    def create_time(self) -> datetime:
        return _datetime_of_ns(self.create_time_ns)

    @classmethod
    def from_proto(cls, checkpoint: pb.AuditCheckpoint) -> AuditCheckpoint:
        return cls(
            sequence=checkpoint.sequence,
            hash=checkpoint.hash,
            create_time_ns=checkpoint.create_time.ToNanoseconds(),
            key_id=checkpoint.key_id,
            signature=base64.b64decode(checkpoint.signature),
        )


@dataclass(frozen=True)
class AuditCheckpointsPage:
    """One page of checkpoints; `next_page_token` is empty on the last."""

    checkpoints: tuple[AuditCheckpoint, ...]
    next_page_token: str


@dataclass(frozen=True)
class AuditTamper:
    """The first place the log is not as written.

    `kind` is `MODIFIED`, `DELETED`, `REORDERED`, `INSERTED`, `TRUNCATED` or
    `BAD_CHECKPOINT` (a newer service may name a kind this client does not know).
    """

    sequence: int
    kind: str
    detail: str


@dataclass(frozen=True)
class AuditVerdict:
    """What `verify_audit_log` found over `from_sequence..to_sequence`."""

    intact: bool
    from_sequence: int
    to_sequence: int
    records_verified: int
    checkpoints_verified: int
    head_hash: str
    first_problem: AuditTamper | None

    @classmethod
    def from_proto(cls, verdict: pb.VerifyAuditLogResponse) -> AuditVerdict:
        problem = None
        if not verdict.intact:
            found = verdict.first_problem
            kind = pb.AuditTamperKind.Name(found.kind) if found.kind in _known_kinds() else ""
            problem = AuditTamper(
                sequence=found.sequence,
                kind=kind.removeprefix(_KIND_PREFIX) or str(found.kind),
                detail=found.detail,
            )
        return cls(
            intact=verdict.intact,
            from_sequence=verdict.from_sequence,
            to_sequence=verdict.to_sequence,
            records_verified=verdict.records_verified,
            checkpoints_verified=verdict.checkpoints_verified,
            head_hash=verdict.head_hash,
            first_problem=problem,
        )


def _known_kinds() -> frozenset[int]:
    return frozenset(pb.AuditTamperKind.values())


@dataclass(frozen=True)
class AuditPublicKey:
    """The key checkpoint signatures verify against; `key_id` is the hex SHA-256
    of the raw public key. Check it out of band before trusting the key."""

    algorithm: str
    public_key_pem: str
    key_id: str
    active: bool = True
