"""Bounded inputs: the rules a request's protos declare, checked at the service boundary.

The protos declare each rule once, on the field: `google.api.field_behavior =
REQUIRED` for presence, and `(extplane.options.v1.bounds)` for ranges,
lengths, allowed values and the like. The gateway's OpenAPI reads the same
declarations (`gateway.schemas`), so what the schema promises is what the
service enforces. Beyond the declarations, every enum must hold a declared
value and every `google.protobuf.Timestamp` must be a valid one, anywhere in
the request.

A service calls `check(request)` first thing; it raises `InvalidRequestError`
naming every offending field (`page_size`, `events[3].timestamp`). A query's
time range bounds then come from `range_bound_ns`, which clamps a valid time
outside what the stores hold (int64 nanoseconds) to that range.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from google.api import field_behavior_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from extplane.runtime.bad_request import FieldViolation, InvalidRequestError
from extplane.runtime.timestamps import (
    MAX_NS,
    MIN_NS,
    NS_PER_S,
    clamped_ns,
    invalid_reason,
    rfc3339,
)
from extplane_protos.extplane.options.v1 import bounds_pb2

FieldBounds = bounds_pb2.FieldBounds
TIMESTAMP = Timestamp.DESCRIPTOR.full_name
# The C0 and C1 control characters `no_control_characters` refuses; the same
# class, negated, is the JSON Schema `pattern` (Python and ECMA-262 read it alike).
CONTROL_CHARACTERS = "\\x00-\\x1f\\x7f-\\x9f"
NO_CONTROL_PATTERN = f"^[^{CONTROL_CHARACTERS}]*$"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")

_F = FieldDescriptor
_INTEGER_TYPES = frozenset(
    {
        _F.TYPE_INT32,
        _F.TYPE_INT64,
        _F.TYPE_UINT32,
        _F.TYPE_UINT64,
        _F.TYPE_SINT32,
        _F.TYPE_SINT64,
        _F.TYPE_FIXED32,
        _F.TYPE_FIXED64,
        _F.TYPE_SFIXED32,
        _F.TYPE_SFIXED64,
    }
)
# typeshed types extension handles as plain FieldDescriptors.
_BOUNDS: Any = bounds_pb2.bounds
_FIELD_BEHAVIOR: Any = field_behavior_pb2.field_behavior


def declared_bounds(field: FieldDescriptor) -> FieldBounds | None:
    """The field's `(extplane.options.v1.bounds)`, None when it declares none."""
    options = field.GetOptions()
    if not options.HasExtension(_BOUNDS):
        return None
    declared: FieldBounds = options.Extensions[_BOUNDS]
    return declared


def is_required(field: FieldDescriptor) -> bool:
    behaviors: list[int] = list(field.GetOptions().Extensions[_FIELD_BEHAVIOR])
    return field_behavior_pb2.FieldBehavior.REQUIRED in behaviors


def map_value_field(field: FieldDescriptor) -> FieldDescriptor | None:
    """The `value` field of a map field's entry; None if the field is not a map."""
    entry = field.message_type
    if entry is None or not entry.GetOptions().map_entry:
        return None
    value: FieldDescriptor = entry.fields_by_name["value"]
    return value


@dataclass(frozen=True, slots=True)
class _Rule:
    """What is checked of one field."""

    field: FieldDescriptor
    # The field whose type judges each value: the field itself, or a map's value field.
    leaf: FieldDescriptor
    required: bool
    bounds: FieldBounds | None
    # The message type of the values to walk into, if they need it.
    walk: Descriptor | None


@cache
def _in_cycle(message: Descriptor) -> bool:
    """True when `message` can hold itself, at any depth (Struct and Value can)."""
    seen: set[str] = set()
    pending = [message]
    while pending:
        for field in pending.pop().fields:
            nested = field.message_type
            if nested is None:
                continue
            if nested.full_name == message.full_name:
                return True
            if nested.full_name not in seen:
                seen.add(nested.full_name)
                pending.append(nested)
    return False


def _needs_walk(message: Descriptor | None) -> Descriptor | None:
    if message is None:
        return None
    if message.full_name == TIMESTAMP:
        return message
    # A type in a cycle is always walked (its plan would need itself); others
    # only when they, or what they hold, declare something.
    return message if _in_cycle(message) or _rules(message) else None


@cache
def _rules(message: Descriptor) -> tuple[_Rule, ...]:
    """The fields of `message` with something to check, computed once per type."""
    if message.full_name == TIMESTAMP:
        return ()
    found: list[_Rule] = []
    for field in message.fields:
        leaf = map_value_field(field) or field
        required, bounds = is_required(field), declared_bounds(field)
        walk = _needs_walk(leaf.message_type)
        if required or bounds is not None or walk is not None or leaf.enum_type is not None:
            found.append(_Rule(field, leaf, required, bounds, walk))
    return tuple(found)


def _present(message: Message, field: FieldDescriptor) -> bool:
    if field.is_repeated:
        return len(getattr(message, field.name)) > 0
    if field.has_presence:
        return message.HasField(field.name)
    return bool(getattr(message, field.name))


def _scalar_problem(field: FieldDescriptor, bounds: FieldBounds | None, value: Any) -> str | None:
    if field.message_type is not None:
        return None  # a message type that declares nothing
    if field.enum_type is not None:
        if value not in field.enum_type.values_by_number:
            return f"{value} is not a value of {field.enum_type.full_name}"
        if bounds is not None and bounds.specified and value == 0:
            return f"must not be {field.enum_type.values_by_number[0].name}"
        return None
    if bounds is None:
        return None
    if field.type in _INTEGER_TYPES:
        if bounds.HasField("minimum") and value < bounds.minimum:
            return f"must be at least {bounds.minimum}"
        if bounds.HasField("maximum") and value > bounds.maximum:
            return f"must be at most {bounds.maximum}"
    elif field.type == _F.TYPE_STRING:
        if bounds.HasField("max_length") and len(value) > bounds.max_length:
            return f"at most {bounds.max_length} characters"
        if bounds.no_control_characters and _CONTROL.search(value):
            return "must not hold control characters"
        if bounds.one_of and value not in bounds.one_of:
            return "must be one of " + ", ".join(repr(allowed) for allowed in bounds.one_of)
    return None


def _elements(message: Message, field: FieldDescriptor, name: str) -> Iterator[tuple[str, Any]]:
    """(path, value) of each value the field holds: one, or one per element or map entry."""
    value = getattr(message, field.name)
    if map_value_field(field) is not None:
        for key in sorted(value):
            yield f"{name}[{key}]", value[key]
    elif field.is_repeated:
        for index, element in enumerate(value):
            yield f"{name}[{index}]", element
    elif field.message_type is None or message.HasField(field.name):
        yield name, value


def _walk(message: Message, prefix: str, found: list[FieldViolation]) -> None:
    for rule in _rules(message.DESCRIPTOR):
        field = rule.field
        name = prefix + field.name
        if rule.required and not _present(message, field):
            found.append(FieldViolation(name, "required"))
            continue
        bounds = rule.bounds
        if bounds is not None and bounds.unique_items and field.message_type is None:
            values: Sequence[Any] = getattr(message, field.name)
            seen: set[Any] = set()
            for index, item in enumerate(values):
                if item in seen:
                    found.append(FieldViolation(f"{name}[{index}]", "repeats an earlier value"))
                seen.add(item)
        for path, value in _elements(message, field, name):
            if rule.walk is None:
                problem = _scalar_problem(rule.leaf, bounds, value)
            elif rule.walk.full_name == TIMESTAMP:
                problem = invalid_reason(cast(Timestamp, value))
            else:
                _walk(value, path + ".", found)
                continue
            if problem is not None:
                found.append(FieldViolation(path, problem))


def violations(request: Message) -> list[FieldViolation]:
    """Every declared rule `request` breaks, fields named by their proto paths."""
    found: list[FieldViolation] = []
    _walk(request, "", found)
    return found


def check(request: Message) -> None:
    """Raise `InvalidRequestError` naming every field of `request` that breaks a rule."""
    found = violations(request)
    if found:
        raise InvalidRequestError(found)


def range_bound_ns(request: Message, field_name: str) -> int | None:
    """A query's time range bound in ns: None when unset, clamped to what the stores
    hold when outside it; a Timestamp that is not valid is refused naming the field."""
    if not request.HasField(field_name):
        return None
    ts: Timestamp = getattr(request, field_name)
    problem = invalid_reason(ts)
    if problem is not None:
        raise InvalidRequestError([FieldViolation(field_name, problem)])
    return clamped_ns(ts)


def stored_instant_ns(request: Message, field_name: str) -> int | None:
    """An instant the store keeps as given, in ns: None when unset. Unlike a range
    bound it cannot be clamped (it would be stored and answered as another time), so
    one outside what the stores hold (int64 ns, 1677..2262) is refused naming the field."""
    if not request.HasField(field_name):
        return None
    ts: Timestamp = getattr(request, field_name)
    problem = invalid_reason(ts)
    ns = ts.seconds * NS_PER_S + ts.nanos
    if problem is None and not MIN_NS <= ns <= MAX_NS:
        problem = f"must be between {rfc3339(MIN_NS)} and {rfc3339(MAX_NS)}"
    if problem is not None:
        raise InvalidRequestError([FieldViolation(field_name, problem)])
    return ns


def time_range(request: Message) -> tuple[int | None, int | None]:
    """A query's `start_time`/`end_time` as a [start, end) range in ns, each None when
    unset and clamped like `range_bound_ns`. Refuses a range that does not end after
    it starts, judged on the times as sent (two past 2262 clamp to one value)."""
    start = range_bound_ns(request, "start_time")
    end = range_bound_ns(request, "end_time")
    if start is not None and end is not None:
        sent_start, sent_end = (getattr(request, name) for name in ("start_time", "end_time"))
        if (sent_end.seconds, sent_end.nanos) <= (sent_start.seconds, sent_start.nanos):
            raise InvalidRequestError([FieldViolation("end_time", "must be after start_time")])
    return start, end
