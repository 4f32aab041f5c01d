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

from extplane.metering.event_rows import EventRow
from extplane.runtime.bad_request import FieldViolation
from extplane.runtime.event_rules import (
    TimeWindow,
    text_problem,
    timestamp_problem,
    validate_one,
)
from extplane.runtime.event_rules import validate_batch as validate_all
from extplane.runtime.timestamps import NS_PER_S
from extplane_protos.orloj.extensions.v1 import metering_pb2

MAX_LABEL_CHARS = 256
MAX_EVENT_ID_CHARS = 128
MAX_COUNTER = 10**12

_LABELS = ("namespace", "task", "agent", "model")
_COUNTERS = ("tokens_in", "tokens_out", "tool_calls", "duration_ms")


def event_violations(
    event: metering_pb2.MeteringEvent, window: TimeWindow, prefix: str
) -> list[FieldViolation]:
    """Every rule `event` breaks, fields named `prefix.field`."""
    found: list[FieldViolation] = []
    problem = timestamp_problem(event.timestamp if event.HasField("timestamp") else None, window)
    if problem is not None:
        found.append(FieldViolation(f"{prefix}.timestamp", problem))
    for name in _LABELS:
        problem = text_problem(getattr(event, name), MAX_LABEL_CHARS, required=name == "namespace")
        if problem is not None:
            found.append(FieldViolation(f"{prefix}.{name}", problem))
    problem = text_problem(event.event_id, MAX_EVENT_ID_CHARS)
    if problem is not None:
        found.append(FieldViolation(f"{prefix}.event_id", problem))
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


def validate_event(request: metering_pb2.RecordMeteringRequest, window: TimeWindow) -> EventRow:
    """The row of a unary request's event; raises `InvalidRequestError` naming `event.*`."""
    return validate_one(
        request.HasField("event"),
        request.event,
        lambda event: _valid_row(event, window.earliest_ns, window.latest_ns),
        lambda event, prefix: event_violations(event, window, prefix),
    )


def validate_batch(
    events: Sequence[metering_pb2.MeteringEvent], window: TimeWindow, *, max_events: int
) -> list[EventRow]:
    """The rows of a whole batch; raises `InvalidRequestError` naming `events[i].*` for
    every failing event (all or nothing: one bad event refuses the batch)."""
    earliest, latest = window.earliest_ns, window.latest_ns
    return validate_all(
        events,
        lambda event: _valid_row(event, earliest, latest),
        lambda event, prefix: event_violations(event, window, prefix),
        max_events=max_events,
    )
