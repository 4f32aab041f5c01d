"""The AuditSink contract as data, plus its one clause of its own: sequences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from extplane_client.conformance._model import Check, Clause, Finding, Level, failed, passed
from extplane_client.conformance._probe import Method, Probe
from extplane_client.conformance.metering import timestamp
from extplane_client.conformance.sink_contract import Malformed, Shape, SinkContract
from extplane_client.conformance.sinks import sink_checks
from extplane_protos.orloj.extensions.v1 import audit_pb2 as pb

DOCS = "docs/audit.md"
RULES = f"{DOCS}#what-an-event-must-be"

UNARY = Method(
    "/orloj.extensions.v1.AuditSink/RecordAudit", pb.RecordAuditRequest, pb.RecordAuditResponse
)


def base_event(namespace: str, event_id: str) -> pb.AuditEvent:
    return pb.AuditEvent(
        timestamp=timestamp(datetime.now(UTC)),
        action="tool_invoke",
        actor="agent:conformance",
        resource="tool/web-search",
        namespace=namespace,
        outcome="allowed",
        details={"reason": "conformance run", "attempt": "1"},
        event_id=event_id,
    )


def _minimal(event: pb.AuditEvent) -> None:
    for name in ("resource", "details", "event_id"):
        event.ClearField(name)


def _unicode(event: pb.AuditEvent) -> None:
    event.actor, event.resource = "utilisateur:zoë", "リソース/日本-🚀"
    event.details["note"] = "free text: line one\nline two\ttabbed"


def _longest(event: pb.AuditEvent) -> None:
    event.action, event.actor, event.resource = "a" * 128, "u" * 256, "r" * 512
    event.namespace = (event.namespace + "-" + "n" * 256)[:256]
    event.event_id = (event.event_id + "-" + "i" * 128)[:128]


def _many_details(event: pb.AuditEvent) -> None:
    event.details.clear()
    event.details.update({f"key-{i:02d}": f"value {i}" for i in range(64)})


def _outcome(value: str) -> Shape:
    def edit(event: pb.AuditEvent) -> None:
        event.outcome = value

    return Shape(f"outcome_{value}", f"outcome {value!r}", edit)


def _nanoseconds(event: pb.AuditEvent) -> None:
    event.timestamp.nanos = 987_654_321


def _skewed_ahead(event: pb.AuditEvent) -> None:
    event.timestamp.CopyFrom(timestamp(datetime.now(UTC) + timedelta(minutes=5)))


SHAPES = (
    Shape("all_fields", "every field set, with details", lambda event: None),
    Shape("minimal", "only timestamp, action, actor and outcome", _minimal),
    Shape("unicode", "non-ASCII text, a details value with a newline", _unicode),
    Shape(
        "longest_strings",
        "128/256/512/256/128-character action/actor/resource/namespace/event_id",
        _longest,
    ),
    Shape("many_details", "64 details entries", _many_details),
    _outcome("denied"),
    _outcome("error"),
    Shape("nanoseconds", "a timestamp with nanoseconds", _nanoseconds),
    Shape("clock_ahead", "a timestamp 5 minutes ahead (producer clock skew)", _skewed_ahead),
)


def _cleared(name: str) -> Malformed:
    def edit(event: pb.AuditEvent) -> None:
        event.ClearField(cast(Any, name))

    what = "missing" if name == "timestamp" else "empty"
    clause = Clause(f"a {what} {name} is INVALID_ARGUMENT naming event.{name}", RULES)
    return Malformed(f"{what}_{name}", f"event.{name}", edit, clause)


def _long_event_id(event: pb.AuditEvent) -> None:
    event.event_id = "x" * 129


def _empty_details_key(event: pb.AuditEvent) -> None:
    event.details[""] = "no key"


MALFORMED = (
    _cleared("action"),
    _cleared("actor"),
    _cleared("timestamp"),
    Malformed(
        "long_event_id",
        "event.event_id",
        _long_event_id,
        Clause("an event_id over 128 characters is INVALID_ARGUMENT", RULES),
    ),
    Malformed(
        "empty_details_key",
        "event.details",
        _empty_details_key,
        Clause("a details key must not be empty", RULES),
    ),
    Malformed(
        "missing_event",
        "event",
        lambda event: None,
        Clause("a request without an event is INVALID_ARGUMENT naming event", RULES),
    ),
)


async def _sequences(probe: Probe) -> Finding:
    namespace = probe.fresh("seq")
    first = pb.RecordAuditRequest(event=base_event(namespace, probe.event_id()))
    second = pb.RecordAuditRequest(event=base_event(namespace, probe.event_id()))
    answers = [await probe.call(UNARY, request) for request in (first, second, first)]
    got = "; ".join(answer.describe() for answer in answers)
    sent = f"{UNARY.sent(first)}, a second event, then the first again"
    if not all(answer.ok for answer in answers):
        return failed("an event was not acknowledged", sent=sent, got=got)
    one, two, retry = (answer.result for answer in answers)
    if not two.sequence > one.sequence:
        return failed("a later event must get a later sequence", sent=sent, got=got)
    if not (retry.duplicate and retry.sequence == one.sequence):
        return failed(
            "a duplicate answers duplicate=true and its first recording's sequence",
            sent=sent,
            got=got,
        )
    return passed()


CONTRACT = SinkContract(
    prefix="audit",
    service="orloj.extensions.v1.AuditSink",
    unary=UNARY,
    batch=Method(
        "/orloj.extensions.v1.AuditSink/RecordAuditBatch",
        pb.RecordAuditBatchRequest,
        pb.RecordAuditBatchResponse,
    ),
    event_type=pb.AuditEvent,
    base=base_event,
    shapes=SHAPES,
    malformed=MALFORMED,
    docs=DOCS,
    idempotency_section="recording",
    validation_section="what-an-event-must-be",
    batch_section="recording",
    ids_per_namespace=False,
    extra=(
        Check(
            "audit.sequence",
            Level.FULL,
            Clause(
                "sequence is the event's position in the log; "
                "a duplicate answers the first recording's",
                f"{DOCS}#recording",
            ),
            _sequences,
        ),
    ),
)

CHECKS = sink_checks(CONTRACT)
