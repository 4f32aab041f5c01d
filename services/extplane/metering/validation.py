"""Every rule an event must pass before anything of its request is stored.

A request is all or nothing: every event is checked first and, if any fails,
the call is refused with the violations (`event.tokens_in`, or
`events[3].tokens_in` in a batch) and nothing is stored. Rules:

* `timestamp` is set, a valid Timestamp, not before `min_timestamp` and not
  more than `max_future_skew_s` ahead of the service's clock;
* `namespace` is set; `namespace`, `task`, `agent`, `model` have at most
  256 characters and `event_id` at most 128, all printable (no control,
  format or line/paragraph separator characters; the space is fine);
* `tokens_in`, `tokens_out`, `tool_calls`, `duration_ms` are in 0..10^12
  (the upper bound keeps every sum far from int64 overflow);
* a batch has 1..`max_batch_events` events.

Valid events are converted to rows in the same pass: the check is a single
expression per event and the detailed explanation is only built for events
that fail it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from google.protobuf.timestamp_pb2 import Timestamp

from extplane.metering.event_rows import EventRow
from extplane.runtime.bad_request import FieldViolation, InvalidRequestError
from extplane.runtime.timestamps import NS_PER_S, rfc3339
from extplane_protos.orloj.extensions.v1 import metering_pb2

MAX_LABEL_CHARS = 256
MAX_EVENT_ID_CHARS = 128
MAX_COUNTER = 10**12

_LABELS = ("namespace", "task", "agent", "model")
_COUNTERS = ("tokens_in", "tokens_out", "tool_calls", "duration_ms")


@dataclass(frozen=True)
class TimeBounds:
    """The accepted timestamps of one request, in ns since the epoch (inclusive)."""

    earliest_ns: int
    latest_ns: int


def time_bounds(now_ns: int, *, min_timestamp_ns: int, max_future_skew_s: float) -> TimeBounds:
    return TimeBounds(min_timestamp_ns, now_ns + int(max_future_skew_s * NS_PER_S))


def _timestamp_problem(event: metering_pb2.MeteringEvent, bounds: TimeBounds) -> str | None:
    if not event.HasField("timestamp"):
        return "required"
    ts: Timestamp = event.timestamp
    if not 0 <= ts.nanos < NS_PER_S:
        return "nanos must be in 0..999999999"
    value = ts.seconds * NS_PER_S + ts.nanos
    if value < bounds.earliest_ns:
        return f"before the earliest accepted time ({rfc3339(bounds.earliest_ns)})"
    if value > bounds.latest_ns:
        return f"too far in the future (latest accepted now: {rfc3339(bounds.latest_ns)})"
    return None


def event_violations(
    event: metering_pb2.MeteringEvent, bounds: TimeBounds, prefix: str
) -> list[FieldViolation]:
    """Every rule `event` breaks, fields named `prefix.field`."""
    found: list[FieldViolation] = []
    problem = _timestamp_problem(event, bounds)
    if problem is not None:
        found.append(FieldViolation(f"{prefix}.timestamp", problem))
    for name in _LABELS:
        value: str = getattr(event, name)
        if name == "namespace" and not value:
            found.append(FieldViolation(f"{prefix}.namespace", "required"))
        elif len(value) > MAX_LABEL_CHARS:
            found.append(
                FieldViolation(f"{prefix}.{name}", f"at most {MAX_LABEL_CHARS} characters")
            )
        elif not value.isprintable():
            found.append(FieldViolation(f"{prefix}.{name}", "printable characters only"))
    if len(event.event_id) > MAX_EVENT_ID_CHARS:
        found.append(
            FieldViolation(f"{prefix}.event_id", f"at most {MAX_EVENT_ID_CHARS} characters")
        )
    elif not event.event_id.isprintable():
        found.append(FieldViolation(f"{prefix}.event_id", "printable characters only"))
    for name in _COUNTERS:
        count: int = getattr(event, name)
        if count < 0:
            found.append(FieldViolation(f"{prefix}.{name}", "must not be negative"))
        elif count > MAX_COUNTER:
            found.append(FieldViolation(f"{prefix}.{name}", f"at most {MAX_COUNTER}"))
    return found


def _valid_row(event: metering_pb2.MeteringEvent, earliest: int, latest: int) -> EventRow | None:
    """The event's row when it passes every rule, else None (then ask `event_violations`)."""
    if not event.HasField("timestamp"):
        return None
    ts = event.timestamp
    nanos = ts.nanos
    at = ts.seconds * NS_PER_S + nanos
    namespace, task, agent, model = event.namespace, event.task, event.agent, event.model
    event_id = event.event_id
    tokens_in, tokens_out = event.tokens_in, event.tokens_out
    tool_calls, duration_ms = event.tool_calls, event.duration_ms
    if (
        earliest <= at <= latest
        and 0 <= nanos < NS_PER_S
        and 0 < len(namespace) <= MAX_LABEL_CHARS
        and len(task) <= MAX_LABEL_CHARS
        and len(agent) <= MAX_LABEL_CHARS
        and len(model) <= MAX_LABEL_CHARS
        and len(event_id) <= MAX_EVENT_ID_CHARS
        and 0 <= tokens_in <= MAX_COUNTER
        and 0 <= tokens_out <= MAX_COUNTER
        and 0 <= tool_calls <= MAX_COUNTER
        and 0 <= duration_ms <= MAX_COUNTER
        and (namespace + task + agent + model + event_id).isprintable()
    ):
        return (
            at,
            namespace,
            task,
            agent,
            model,
            tokens_in,
            tokens_out,
            tool_calls,
            duration_ms,
            event_id or None,  # NULL: never deduplicated (the unique index skips NULLs)
        )
    return None


def _explain(
    event: metering_pb2.MeteringEvent, bounds: TimeBounds, prefix: str
) -> list[FieldViolation]:
    # The two checks are written to agree; should they ever not, still refuse.
    return event_violations(event, bounds, prefix) or [FieldViolation(prefix, "invalid event")]


def validate_event(request: metering_pb2.RecordMeteringRequest, bounds: TimeBounds) -> EventRow:
    """The row of a unary request's event; raises `InvalidRequestError` naming `event.*`."""
    if not request.HasField("event"):
        raise InvalidRequestError([FieldViolation("event", "required")])
    row = _valid_row(request.event, bounds.earliest_ns, bounds.latest_ns)
    if row is None:
        raise InvalidRequestError(_explain(request.event, bounds, "event"))
    return row


def validate_batch(
    events: Sequence[metering_pb2.MeteringEvent], bounds: TimeBounds, *, max_events: int
) -> list[EventRow]:
    """The rows of a whole batch; raises `InvalidRequestError` naming `events[i].*` for
    every failing event (all or nothing: one bad event refuses the batch)."""
    if not events:
        raise InvalidRequestError([FieldViolation("events", "at least one event is required")])
    if len(events) > max_events:
        raise InvalidRequestError(
            [FieldViolation("events", f"at most {max_events} events per call, got {len(events)}")]
        )
    earliest, latest = bounds.earliest_ns, bounds.latest_ns
    rows: list[EventRow] = []
    append = rows.append
    violations: list[FieldViolation] = []
    for index, event in enumerate(events):
        row = _valid_row(event, earliest, latest)
        if row is None:
            violations.extend(_explain(event, bounds, f"events[{index}]"))
        else:
            append(row)
    if violations:
        raise InvalidRequestError(violations)
    return rows
