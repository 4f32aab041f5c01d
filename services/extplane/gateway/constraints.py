"""JSON Schema keywords for what a request field's protos declare.

The services enforce the declarations with `extplane.runtime.bounds`; the
OpenAPI states the same ones here, so a schema-valid request is accepted and a
schema-invalid one refused. Query parameters are written as the gateway reads
them from a URL (integers as integers, every spelling of an enum the gateway
takes); bodies as protojson has them.
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf.descriptor import FieldDescriptor

from extplane.gateway.enums import spellings
from extplane.gateway.fields import TIMESTAMP, WRAPPER_TYPES
from extplane.runtime import bounds as declared

FieldBounds = declared.FieldBounds

Schema = dict[str, object]

_F = FieldDescriptor
_64_BIT = frozenset(
    {_F.TYPE_INT64, _F.TYPE_SINT64, _F.TYPE_SFIXED64, _F.TYPE_UINT64, _F.TYPE_FIXED64}
)
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
# (format, smallest, largest) of each integer type as one query value.
INTEGER_RANGES: dict[int, tuple[str | None, int, int]] = {
    _F.TYPE_INT32: ("int32", *_INT32),
    _F.TYPE_SINT32: ("int32", *_INT32),
    _F.TYPE_SFIXED32: ("int32", *_INT32),
    _F.TYPE_UINT32: ("int64", 0, 2**32 - 1),
    _F.TYPE_FIXED32: ("int64", 0, 2**32 - 1),
    _F.TYPE_INT64: ("int64", *_INT64),
    _F.TYPE_SINT64: ("int64", *_INT64),
    _F.TYPE_SFIXED64: ("int64", *_INT64),
    # No OpenAPI format holds all of uint64.
    _F.TYPE_UINT64: (None, 0, 2**64 - 1),
    _F.TYPE_FIXED64: (None, 0, 2**64 - 1),
}
# A date-time protobuf's Timestamp can hold (0001-01-01T00:00:00Z ..
# 9999-12-31T23:59:59.999999999Z): JSON Schema's `date-time` alone allows
# 0001-01-01 at a positive offset and 9999-12-31 at a negative one, which can
# fall outside. Those two days are refused at any such offset.
TIMESTAMP_PATTERN = r"^(?!0001-01-01T[^+]*\+(?!00:00$))(?!9999-12-31T[^-]*-(?!00:00$))"


def integer_query_schema(field: FieldDescriptor, bounds: FieldBounds | None) -> Schema:
    """An integer in a URL: the type's range narrowed by the declared one."""
    number_format, low, high = INTEGER_RANGES[field.type]
    if bounds is not None and bounds.HasField("minimum"):
        low = max(low, bounds.minimum)
    if bounds is not None and bounds.HasField("maximum"):
        high = min(high, bounds.maximum)
    schema: Schema = {"type": "integer"}
    if number_format is not None:
        schema["format"] = number_format
    schema.update(minimum=low, maximum=high)
    return schema


def enum_query_values(field: FieldDescriptor, bounds: FieldBounds | None) -> list[str]:
    """Every spelling the gateway takes for the field's enum: short names, full names,
    then numbers (as grpc-gateway takes them: the declared values only)."""
    enum = field.enum_type
    if enum is None:
        raise ValueError(f"{field.full_name} is not an enum field")
    forms = spellings(enum)
    refused = {0} if bounds is not None and bounds.specified else set()
    kept = [i for i, value in enumerate(enum.values) if value.number not in refused]
    numbers = dict.fromkeys(str(enum.values[i].number) for i in kept)
    return [
        *dict.fromkeys(forms.short_names[i] for i in kept),
        *(forms.full_names[i] for i in kept),
        *numbers,
    ]


def string_keywords(bounds: FieldBounds | None) -> Schema:
    if bounds is None:
        return {}
    keywords: Schema = {}
    if bounds.HasField("max_length"):
        keywords["maxLength"] = bounds.max_length
    if bounds.no_control_characters:
        keywords["pattern"] = declared.NO_CONTROL_PATTERN
    if bounds.one_of:
        keywords["enum"] = list(bounds.one_of)
    return keywords


def body_keywords(field: FieldDescriptor) -> Schema:
    """Keywords a single value of a body field adds to its type's schema.

    64-bit integers are strings in protojson, where `minimum` does not apply;
    their bounds are the service's to enforce.
    """
    bounds = declared.declared_bounds(field)
    if bounds is None:
        return required_keywords(field)
    if field.type == _F.TYPE_STRING:
        return {**string_keywords(bounds), **required_keywords(field)}
    if field.type not in INTEGER_RANGES or field.type in _64_BIT:
        return {}
    keywords: Schema = {}
    if bounds.HasField("minimum"):
        keywords["minimum"] = bounds.minimum
    if bounds.HasField("maximum"):
        keywords["maximum"] = bounds.maximum
    return keywords


def required_keywords(field: FieldDescriptor) -> Schema:
    """What REQUIRED adds to a value without presence: the service refuses the
    default ("" or no bytes) as missing, so the schema must too."""
    if field.is_repeated or field.has_presence or not declared.is_required(field):
        return {}
    if field.type in (_F.TYPE_STRING, _F.TYPE_BYTES):
        return {"minLength": 1}
    return {}


def nullable(field: FieldDescriptor, schema: Schema) -> Schema:
    """A body field with presence (a proto3 `optional` scalar, a Timestamp or a
    wrapper) whose schema is a plain type: protojson reads `null` as unset. A
    message behind a `$ref` keeps its schema (it has no `type` to widen)."""
    if field.is_repeated or not field.has_presence or "type" not in schema:
        return schema
    return {**schema, "type": [schema["type"], "null"]}


def specified_enum(field: FieldDescriptor, schema: Schema) -> Schema:
    """An enum field declared `specified`: its zero name is refused, so listed out."""
    bounds = declared.declared_bounds(field)
    enum = field.enum_type
    if enum is None or bounds is None or not bounds.specified:
        return schema
    return {"type": "string", "enum": [v.name for v in enum.values if v.number != 0]}


def array_keywords(bounds: FieldBounds | None) -> Schema:
    return {"uniqueItems": True} if bounds is not None and bounds.unique_items else {}


def query_schema(field: FieldDescriptor, fallback: Callable[[FieldDescriptor], Schema]) -> Schema:
    """The schema of a query parameter setting `field` (an array when repeated);
    `fallback` gives the plain schema of a type with nothing here to add."""
    bounds = declared.declared_bounds(field)
    single = _query_value(field, bounds, fallback)
    if field.is_repeated:
        return {"type": "array", "items": single, **array_keywords(bounds)}
    return single


def _query_value(
    field: FieldDescriptor,
    bounds: FieldBounds | None,
    fallback: Callable[[FieldDescriptor], Schema],
) -> Schema:
    message = field.message_type
    if message is not None:
        if message.full_name == TIMESTAMP:
            return {"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN}
        if message.full_name in WRAPPER_TYPES:
            return _query_value(message.fields_by_name["value"], None, fallback)
        return fallback(field)
    if field.enum_type is not None:
        return {"type": "string", "enum": enum_query_values(field, bounds)}
    if field.type in INTEGER_RANGES:
        return integer_query_schema(field, bounds)
    if field.type == _F.TYPE_STRING:
        return {"type": "string", **string_keywords(bounds), **required_keywords(field)}
    return fallback(field)
