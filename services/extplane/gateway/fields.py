"""Dotted field paths and string values, as path variables and query parameters carry them.

A path segment may use the proto name or the JSON (lowerCamelCase) name. A string
value becomes the JSON value protojson expects for the field, so parsing and
its errors stay with `json_format`. Enum values may also be written short
(see `enums`).
"""

from __future__ import annotations

import re

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from extplane.gateway.enums import spellings
from extplane.runtime import bounds

FieldPath = tuple[FieldDescriptor, ...]

TIMESTAMP = "google.protobuf.Timestamp"
# Well-known types whose JSON form is one string, so one query value sets them.
STRING_JSON_TYPES = frozenset(
    {
        TIMESTAMP,
        "google.protobuf.Duration",
        "google.protobuf.FieldMask",
    }
)
WRAPPER_TYPES = frozenset(
    {
        "google.protobuf.DoubleValue",
        "google.protobuf.FloatValue",
        "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value",
        "google.protobuf.Int32Value",
        "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue",
        "google.protobuf.StringValue",
        "google.protobuf.BytesValue",
    }
)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_INTEGER_TYPES = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_TRUE = frozenset({"true", "t", "1"})
_FALSE = frozenset({"false", "f", "0"})
# An RFC 3339 offset whose "+" a query string turned into a space (form encoding).
_SPACED_OFFSET = re.compile(r"(?<=[0-9]) (?=[0-9]{2}:[0-9]{2}$)")


class FieldPathError(LookupError):
    """A dotted path that names no field of the message."""


def is_map(field: FieldDescriptor) -> bool:
    return bounds.map_value_field(field) is not None


def find_field(message: Descriptor, name: str) -> FieldDescriptor | None:
    found: FieldDescriptor | None = message.fields_by_name.get(name)
    if found is None:
        found = next((f for f in message.fields if f.json_name == name), None)
    return found


def resolve_field_path(message: Descriptor, path: str) -> FieldPath:
    """The fields a dotted path walks through; every step but the last is a message."""
    fields: list[FieldDescriptor] = []
    current: Descriptor | None = message
    for name in path.split("."):
        if current is None:
            raise FieldPathError(f"{'.'.join(f.name for f in fields)} has no field {name!r}")
        field = find_field(current, name)
        if field is None:
            raise FieldPathError(f"{current.full_name} has no field {name!r}")
        fields.append(field)
        nested = field.message_type
        walkable = nested is not None and not field.is_repeated and not is_map(field)
        current = nested if walkable else None
    return tuple(fields)


def proto_path(fields: FieldPath) -> str:
    return ".".join(field.name for field in fields)


def json_path(fields: FieldPath) -> str:
    return ".".join(field.json_name for field in fields)


def accepts_string(field: FieldDescriptor) -> bool:
    """True if one string can set a single value of the field."""
    message = field.message_type
    if message is None:
        return True
    return message.full_name in STRING_JSON_TYPES or message.full_name in WRAPPER_TYPES


def scalar_json(field: FieldDescriptor, text: str) -> object:
    """The JSON value protojson reads for one string of a non-map field."""
    message = field.message_type
    if message is not None:
        if message.full_name in WRAPPER_TYPES:
            return scalar_json(message.fields_by_name["value"], text)
        if message.full_name == TIMESTAMP:
            # `start_time=2026-11-21T01:00:00+01:00` unescaped arrives with a space;
            # RFC 3339 allows a lower-case `t` and `z`, protobuf's parser does not.
            return _SPACED_OFFSET.sub("+", text).upper()
        if message.full_name in STRING_JSON_TYPES:
            return text
        raise ValueError("is a message; set its fields with dotted names")
    if field.enum_type is not None:
        return spellings(field.enum_type).resolve(text)
    if field.type == FieldDescriptor.TYPE_BOOL:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if field.type in _INTEGER_TYPES and not _INTEGER.fullmatch(text):
        # protojson's parser would also take `1_000` or non-ASCII digits; a URL integer
        # is plain ASCII digits.
        raise ValueError(f"expected an integer, got {text!r}")
    return text


def nest(fields: FieldPath, value: object) -> dict[str, object]:
    """`{"a": {"b": value}}` for the path a.b, keyed by proto names."""
    nested: dict[str, object] = {fields[-1].name: value}
    for field in reversed(fields[:-1]):
        nested = {field.name: nested}
    return nested
