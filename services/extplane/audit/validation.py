"""Every rule an audit event must pass before anything of its request is stored.

A request is all or nothing: every event is checked first and, if any fails,
the call is refused with the violations (`event.outcome`, or
`events[3].outcome` in a batch) and nothing is stored. Rules:

* `timestamp` is set, a valid Timestamp, not before `min_timestamp` and not
  more than `max_future_skew_s` ahead of the service's clock;
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
from extplane.runtime.bad_request import FieldViolation, InvalidRequestError
from extplane.runtime.timestamps import NS_PER_S, datetime_ns, rfc3339
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
    """The limits of one request, with the clock read once for all its events."""

    earliest_ns: int
    latest_ns: int
    max_details_entries: int
    max_details_bytes: int
    max_batch_events: int

    @classmethod
    def at(cls, now_ns: int, settings: AuditSettings) -> EventRules:
        return cls(
            earliest_ns=datetime_ns(settings.min_timestamp),
            latest_ns=now_ns + int(settings.max_future_skew_s * NS_PER_S),
            max_details_entries=settings.max_details_entries,
            max_details_bytes=settings.max_details_bytes,
            max_batch_events=settings.max_batch_events,
        )


def _timestamp_problem(event: audit_pb2.AuditEvent, rules: EventRules) -> str | None:
    if not event.HasField("timestamp"):
        return "required"
    ts = event.timestamp
    if not 0 <= ts.nanos < NS_PER_S:
        return "nanos must be in 0..999999999"
    at = ts.seconds * NS_PER_S + ts.nanos
    if at < rules.earliest_ns:
        return f"before the earliest accepted time ({rfc3339(rules.earliest_ns)})"
    if at > rules.latest_ns:
        return f"too far in the future (latest accepted now: {rfc3339(rules.latest_ns)})"
    return None


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
    problem = _timestamp_problem(event, rules)
    if problem is not None:
        found.append(FieldViolation(f"{prefix}.timestamp", problem))
    for name, limit in MAX_CHARS.items():
        value: str = getattr(event, name)
        if name in REQUIRED and not value:
            found.append(FieldViolation(f"{prefix}.{name}", "required"))
        elif len(value) > limit:
            found.append(FieldViolation(f"{prefix}.{name}", f"at most {limit} characters"))
        elif not value.isprintable():
            found.append(FieldViolation(f"{prefix}.{name}", "printable characters only"))
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
        rules.earliest_ns <= at <= rules.latest_ns
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
    )


def _explain(event: audit_pb2.AuditEvent, rules: EventRules, prefix: str) -> list[FieldViolation]:
    # The two checks are written to agree; should they ever not, still refuse.
    return event_violations(event, rules, prefix) or [FieldViolation(prefix, "invalid event")]


def validate_event(request: audit_pb2.RecordAuditRequest, rules: EventRules) -> NewEvent:
    """The event of a unary request; raises `InvalidRequestError` naming `event.*`."""
    if not request.HasField("event"):
        raise InvalidRequestError([FieldViolation("event", "required")])
    valid = _valid_event(request.event, rules)
    if valid is None:
        raise InvalidRequestError(_explain(request.event, rules, "event"))
    return valid


def validate_batch(events: Sequence[audit_pb2.AuditEvent], rules: EventRules) -> list[NewEvent]:
    """Every event of a batch; raises `InvalidRequestError` naming `events[i].*` for each
    failing one (all or nothing: one bad event refuses the batch)."""
    if not events:
        raise InvalidRequestError([FieldViolation("events", "at least one event is required")])
    if len(events) > rules.max_batch_events:
        raise InvalidRequestError(
            [
                FieldViolation(
                    "events",
                    f"at most {rules.max_batch_events} events per call, got {len(events)}",
                )
            ]
        )
    valid: list[NewEvent] = []
    violations: list[FieldViolation] = []
    for index, event in enumerate(events):
        checked = _valid_event(event, rules)
        if checked is None:
            violations.extend(_explain(event, rules, f"events[{index}]"))
        elif not violations:
            valid.append(checked)
    if violations:
        raise InvalidRequestError(violations)
    return valid
