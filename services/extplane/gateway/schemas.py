"""JSON Schemas (OpenAPI 3.1 dialect) for protobuf messages, as protojson writes them."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from extplane.gateway.constraints import (
    array_keywords,
    body_keywords,
    nullable,
    specified_enum,
)
from extplane.runtime import bounds

Schema = dict[str, object]

_F = FieldDescriptor
# What a path-set field's body copy keeps of its schema.
_KEPT = frozenset({"type", "format", "description"})
_SCALARS: dict[int, Schema] = {
    _F.TYPE_DOUBLE: {"type": "number", "format": "double"},
    _F.TYPE_FLOAT: {"type": "number", "format": "float"},
    _F.TYPE_INT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SINT32: {"type": "integer", "format": "int32"},
    _F.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    _F.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    _F.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    # protojson writes 64-bit integers as strings: JavaScript numbers lose precision.
    _F.TYPE_INT64: {"type": "string", "format": "int64"},
    _F.TYPE_SINT64: {"type": "string", "format": "int64"},
    _F.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    _F.TYPE_UINT64: {"type": "string", "format": "uint64"},
    _F.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    _F.TYPE_BOOL: {"type": "boolean"},
    _F.TYPE_STRING: {"type": "string"},
    _F.TYPE_BYTES: {"type": "string", "format": "byte"},
}

# Well-known types have their own JSON forms, inlined rather than referenced.
_WELL_KNOWN: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
}
_WRAPPER_PREFIX = "google.protobuf."
_WRAPPER_SUFFIX = "Value"


def _is_wrapper(message: Descriptor) -> bool:
    name = message.full_name
    return (
        name.startswith(_WRAPPER_PREFIX)
        and name.endswith(_WRAPPER_SUFFIX)
        and list(message.fields_by_name) == ["value"]
    )


class SchemaBuilder:
    """Builds schemas, collecting every named message and enum under `components`.

    `comments` (full proto name -> comment) become `description`s.
    """

    def __init__(self, comments: Mapping[str, str] | None = None) -> None:
        self.components: dict[str, Schema] = {}
        self._comments: Mapping[str, str] = comments or {}

    def _described(self, schema: Schema, full_name: str) -> Schema:
        comment = self._comments.get(full_name)
        if comment:
            schema["description"] = comment
        return schema

    @staticmethod
    def ref(name: str) -> Schema:
        return {"$ref": f"#/components/schemas/{name}"}

    def message(self, message: Descriptor) -> Schema:
        if message.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[message.full_name])
        if _is_wrapper(message):
            return self.single(message.fields_by_name["value"])
        if message.full_name not in self.components:
            self.components[message.full_name] = {}  # placeholder: recursive messages
            self.components[message.full_name] = self._object(message)
        return self.ref(message.full_name)

    def enum(self, enum: EnumDescriptor) -> Schema:
        if enum.full_name not in self.components:
            self.components[enum.full_name] = self._described(
                {"type": "string", "enum": [value.name for value in enum.values]},
                enum.full_name,
            )
        return self.ref(enum.full_name)

    def field(self, field: FieldDescriptor) -> Schema:
        value = bounds.map_value_field(field)
        if value is not None:
            return {"type": "object", "additionalProperties": self.single(value)}
        if field.is_repeated:
            items = {**self.single(field), **body_keywords(field)}
            return {
                "type": "array",
                "items": items,
                **array_keywords(bounds.declared_bounds(field)),
            }
        single = specified_enum(field, self.single(field))
        return nullable(field, {**single, **body_keywords(field)})

    def without_required(self, message: Descriptor, names: Collection[str]) -> Schema:
        """`message`'s schema with the fields `names` (json names) no longer required:
        a body whose path sets them may leave them out."""
        self.message(message)
        schema = dict(self.components[message.full_name])
        listed = schema.pop("required", [])
        assert isinstance(listed, list)
        required = [name for name in listed if name not in names]
        # The path's value is the one taken: the body's copy is any value of its type.
        properties = schema["properties"]
        assert isinstance(properties, dict)
        schema["properties"] = {
            name: {k: v for k, v in value.items() if k in _KEPT} if name in names else value
            for name, value in properties.items()
        }
        if required:
            schema["required"] = required
        return schema

    def single(self, field: FieldDescriptor) -> Schema:
        if field.enum_type is not None:
            return self.enum(field.enum_type)
        if field.message_type is not None:
            return self.message(field.message_type)
        return dict(_SCALARS[field.type])

    def _object(self, message: Descriptor) -> Schema:
        schema: Schema = {
            "type": "object",
            "properties": {
                field.json_name: self._described(self.field(field), field.full_name)
                for field in message.fields
            },
            # The transcoder refuses a body field the message does not have.
            "additionalProperties": False,
        }
        required = [field.json_name for field in message.fields if bounds.is_required(field)]
        if required:
            schema["required"] = required
        exclusive = _oneof_pairs(message)
        if exclusive:
            schema["not"] = {"anyOf": [{"required": list(pair)} for pair in exclusive]}
        return self._described(schema, message.full_name)


def _oneof_pairs(message: Descriptor) -> list[tuple[str, str]]:
    """Each pair of fields of one `oneof` (json names): protojson refuses a body
    setting both. A proto3 `optional` is a oneof of one field, so has no pair."""
    pairs: list[tuple[str, str]] = []
    for oneof in message.oneofs:
        names = [field.json_name for field in oneof.fields]
        pairs += [(a, b) for index, a in enumerate(names) for b in names[index + 1 :]]
    return pairs
