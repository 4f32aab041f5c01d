"""Every rule an audit event must pass before anything of its request is stored.

A request is all or nothing: every event is checked first and, if any fails,
the call is refused with the violations (`event.outcome`, or
`events[3].outcome` in a batch) and nothing is stored. Rules:

* `timestamp` is set, a valid Timestamp, not before `min_timestamp` and not
  more than `max_future_skew_s` ahead of the service's clock; with retention
  configured, not older than the retention age less that skew (the retention
  horizon: a retry of an event already pruned is refused, never stored twice);
* `action` and `actor` are set; `action` has at most 128 characters, `actor`
  and `namespace` 256, `resource` 512, `event_id` 128; all printable (no
  control, format or line/paragraph separator characters; the space is fine);
* `outcome` is `allowed`, `denied` or `error`;
* `details` has at most `max_details_entries` entries and `max_details_bytes`
  UTF-8 bytes (keys and values together); keys are non-empty, printable and
  at most 128 characters; values are free text;
* a batch has 1..`max_batch_events` events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from extplane.audit.chain.canonical import canonical_details
from extplane.audit.chain.records import NewEvent
from extplane.audit.config import AuditSettings
from extplane.runtime.bad_request import FieldViolation
from extplane.runtime.event_rules import (
    TimeWindow,
    text_problem,
    timestamp_problem,
    validate_one,
)
from extplane.runtime.event_rules import validate_batch as validate_all
from extplane.runtime.timestamps import NS_PER_S
from extplane_protos.orloj.extensions.v1 import audit_pb2

OUTCOMES = ("allowed", "denied", "error")
MAX_ACTION = 128
MAX_ACTOR = 256
MAX_RESOURCE = 512
MAX_NAMESPACE = 256
MAX_EVENT_ID = 128
MAX_CHARS = {
    "action": MAX_ACTION,
    "actor": MAX_ACTOR,
    "resource": MAX_RESOURCE,
    "namespace": MAX_NAMESPACE,
    "event_id": MAX_EVENT_ID,
}
REQUIRED = ("action", "actor")
MAX_DETAILS_KEY_CHARS = 128


@dataclass(frozen=True)
class EventRules:
    """The limits of one request, with the clock read once for all its events, and
    the principal that sent it (stored with each of its events)."""

    window: TimeWindow
    max_details_entries: int
    max_details_bytes: int
    max_batch_events: int
    principal: str = ""

    @classmethod
    def at(cls, now_ns: int, settings: AuditSettings, principal: str = "") -> EventRules:
        window = TimeWindow.at(now_ns, settings)
        if settings.retention_s is not None:
            # Records are pruned by receive time, and an event was accepted up to
            # `max_future_skew_s` ahead of it: any event pruned by now has a
            # timestamp before this, so its late retry is refused, never stored again.
            horizon = now_ns - int((settings.retention_s - settings.max_future_skew_s) * NS_PER_S)
            window = window.no_earlier_than(horizon, "the retention horizon")
        return cls(
            window=window,
            max_details_entries=settings.max_details_entries,
            max_details_bytes=settings.max_details_bytes,
            max_batch_events=settings.max_batch_events,
            principal=principal,
        )


def _details_problem(details: Mapping[str, str], rules: EventRules) -> str | None:
    if len(details) > rules.max_details_entries:
        return f"at most {rules.max_details_entries} entries, got {len(details)}"
    size = 0
    for key, value in details.items():
        if not key:
            return "keys must not be empty"
        if len(key) > MAX_DETAILS_KEY_CHARS:
            return f"key {key[:32]!r}…: at most {MAX_DETAILS_KEY_CHARS} characters"
        if not key.isprintable():
            return f"key {key[:32]!r}: printable characters only"
        size += len(key.encode()) + len(value.encode())
    if size > rules.max_details_bytes:
        return f"at most {rules.max_details_bytes} bytes of keys and values, got {size}"
    return None


def event_violations(
    event: audit_pb2.AuditEvent, rules: EventRules, prefix: str
) -> list[FieldViolation]:
    """Every rule `event` breaks, fields named `prefix.field`."""
    found: list[FieldViolation] = []
    problem = timestamp_problem(
        event.timestamp if event.HasField("timestamp") else None, rules.window
    )
    if problem is not None:
        found.append(FieldViolation(f"{prefix}.timestamp", problem))
    for name, limit in MAX_CHARS.items():
        problem = text_problem(getattr(event, name), limit, required=name in REQUIRED)
        if problem is not None:
            found.append(FieldViolation(f"{prefix}.{name}", problem))
    if event.outcome not in OUTCOMES:
        found.append(
            FieldViolation(
                f"{prefix}.outcome",
                f"must be one of {', '.join(OUTCOMES)}, got {event.outcome[:32]!r}",
            )
        )
    problem = _details_problem(event.details, rules)
    if problem is not None:
        found.append(FieldViolation(f"{prefix}.details", problem))
    return found


def _valid_event(event: audit_pb2.AuditEvent, rules: EventRules) -> NewEvent | None:
    """The event, ready to chain, when it passes every rule; else None (then
    `event_violations` explains). One expression: this is the path every event takes."""
    if not event.HasField("timestamp"):
        return None
    ts = event.timestamp
    nanos = ts.nanos
    at = ts.seconds * NS_PER_S + nanos
    action, actor, resource = event.action, event.actor, event.resource
    namespace, event_id = event.namespace, event.event_id
    details = event.details
    if not (
        rules.window.earliest_ns <= at <= rules.window.latest_ns
        and 0 <= nanos < NS_PER_S
        and 0 < len(action) <= MAX_ACTION
        and 0 < len(actor) <= MAX_ACTOR
        and len(resource) <= MAX_RESOURCE
        and len(namespace) <= MAX_NAMESPACE
        and len(event_id) <= MAX_EVENT_ID
        and event.outcome in OUTCOMES
        and (action + actor + resource + namespace + event_id).isprintable()
        and (not details or _details_problem(details, rules) is None)
    ):
        return None
    return NewEvent(
        event_id,
        at,
        action,
        actor,
        resource,
        namespace,
        event.outcome,
        canonical_details(details) if details else "{}",
        rules.principal,
    )


def validate_event(request: audit_pb2.RecordAuditRequest, rules: EventRules) -> NewEvent:
    """The event of a unary request; raises `InvalidRequestError` naming `event.*`."""
    return validate_one(
        request.HasField("event"),
        request.event,
        lambda event: _valid_event(event, rules),
        lambda event, prefix: event_violations(event, rules, prefix),
    )


def validate_batch(events: Sequence[audit_pb2.AuditEvent], rules: EventRules) -> list[NewEvent]:
    """Every event of a batch; raises `InvalidRequestError` naming `events[i].*` for each
    failing one (all or nothing: one bad event refuses the batch)."""
    return validate_all(
        events,
        lambda event: _valid_event(event, rules),
        lambda event, prefix: event_violations(event, rules, prefix),
        max_events=rules.max_batch_events,
    )
