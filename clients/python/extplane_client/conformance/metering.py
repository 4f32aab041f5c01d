"""The MeteringSink contract as data: its RPCs, a valid event, shapes, malformed events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from google.protobuf.timestamp_pb2 import Timestamp

from extplane_client.conformance._model import Clause, Level
from extplane_client.conformance._probe import Method
from extplane_client.conformance.sink_contract import Malformed, Shape, SinkContract
from extplane_client.conformance.sinks import sink_checks
from extplane_protos.orloj.extensions.v1 import metering_pb2 as pb

DOCS = "docs/metering.md"
MAX_COUNT = 10**12
COUNTERS = ("tokens_in", "tokens_out", "tool_calls", "duration_ms")


def timestamp(moment: datetime, nanos: int | None = None) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    if nanos is not None:
        stamp.nanos = nanos
    return stamp


def base_event(namespace: str, event_id: str) -> pb.MeteringEvent:
    return pb.MeteringEvent(
        timestamp=timestamp(datetime.now(UTC)),
        namespace=namespace,
        task="conformance-task",
        agent="conformance-agent",
        model="conformance-model",
        tokens_in=1200,
        tokens_out=340,
        tool_calls=2,
        duration_ms=1500,
        event_id=event_id,
    )


def _minimal(event: pb.MeteringEvent) -> None:
    for name in ("task", "agent", "model", "event_id", *COUNTERS):
        event.ClearField(cast(Any, name))


def _unicode(event: pb.MeteringEvent) -> None:
    event.namespace += "-équipe-日本"
    event.task, event.agent, event.model = "tâche ✓", "エージェント", "模型-🚀"


def _longest(event: pb.MeteringEvent) -> None:
    event.namespace = (event.namespace + "-" + "n" * 256)[:256]
    event.task, event.agent, event.model = "t" * 256, "a" * 256, "m" * 256
    event.event_id = (event.event_id + "-" + "i" * 128)[:128]


def _largest_counts(event: pb.MeteringEvent) -> None:
    for name in COUNTERS:
        setattr(event, name, MAX_COUNT)


def _nanoseconds(event: pb.MeteringEvent) -> None:
    event.timestamp.nanos = 123_456_789


def _skewed_ahead(event: pb.MeteringEvent) -> None:
    event.timestamp.CopyFrom(timestamp(datetime.now(UTC) + timedelta(minutes=5)))


SHAPES = (
    Shape("all_fields", "every field set", lambda event: None),
    Shape(
        "minimal",
        "only timestamp and namespace (empty task/agent/model/event_id, zero counts)",
        _minimal,
    ),
    Shape("unicode", "non-ASCII text in every string", _unicode),
    Shape(
        "longest_strings",
        "256-character namespace/task/agent/model, 128-character event_id",
        _longest,
    ),
    Shape("largest_counts", "every count at 10^12", _largest_counts),
    Shape("nanoseconds", "a timestamp with nanoseconds", _nanoseconds),
    Shape("clock_ahead", "a timestamp 5 minutes ahead (producer clock skew)", _skewed_ahead),
)


def _negative(name: str) -> Malformed:
    def edit(event: pb.MeteringEvent) -> None:
        setattr(event, name, -1)

    return Malformed(
        f"negative_{name}",
        f"event.{name}",
        edit,
        Clause(f"a negative {name} is INVALID_ARGUMENT naming event.{name}", f"{DOCS}#validation"),
    )


def _clear(name: str) -> Malformed:
    def edit(event: pb.MeteringEvent) -> None:
        event.ClearField(cast(Any, name))

    what = "missing" if name == "timestamp" else "empty"
    return Malformed(
        f"{what}_{name}",
        f"event.{name}",
        edit,
        Clause(f"a {what} {name} is INVALID_ARGUMENT naming event.{name}", f"{DOCS}#validation"),
    )


def _long_event_id(event: pb.MeteringEvent) -> None:
    event.event_id = "x" * 129


MALFORMED = (
    *(_negative(name) for name in COUNTERS),
    _clear("timestamp"),
    _clear("namespace"),
    Malformed(
        "long_event_id",
        "event.event_id",
        _long_event_id,
        Clause("an event_id over 128 characters is INVALID_ARGUMENT", f"{DOCS}#validation"),
    ),
    Malformed(
        "missing_event",
        "event",
        lambda event: None,
        Clause("a request without an event is INVALID_ARGUMENT naming event", f"{DOCS}#validation"),
    ),
)

CONTRACT = SinkContract(
    prefix="metering",
    service="orloj.extensions.v1.MeteringSink",
    unary=Method(
        "/orloj.extensions.v1.MeteringSink/RecordMetering",
        pb.RecordMeteringRequest,
        pb.RecordMeteringResponse,
    ),
    batch=Method(
        "/orloj.extensions.v1.MeteringSink/RecordMeteringBatch",
        pb.RecordMeteringBatchRequest,
        pb.RecordMeteringBatchResponse,
    ),
    event_type=pb.MeteringEvent,
    base=base_event,
    shapes=SHAPES,
    malformed=MALFORMED,
    docs=DOCS,
    idempotency_section="idempotency",
    validation_section="validation",
    batch_section="all-or-nothing-batches",
    ids_per_namespace=True,
)

CHECKS = sink_checks(CONTRACT)
LEVELS = tuple(Level)
