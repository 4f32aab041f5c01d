"""WIT values (as wasmtime-py lifts and lowers them) <-> protobuf messages.

One conversion for every record of the Alga world, read from the protobuf
descriptors by the contract's mapping rules (docs/contracts.md):
kebab-case field <-> snake_case field; `option<T>` <-> proto3 `optional`
presence; enum case *i* <-> proto value *i + 1*, named by the proto value
without its enum prefix (`CLIENT_READ_ERROR_NOT_ALLOWED` <-> `not-allowed`);
`list<u8>` <-> `bytes`; `list<tuple<string, string>>` <-> `repeated
KeyValue`. The world has no `option<record>` inside a record, so a message
field is always a record; at the top of a function's result the binding
decides (`bindings.py`).

wasmtime-py represents a record as an object with hyphenated attributes, an
enum case as its name, an option as the value or None, a tuple as a tuple.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, TypeVar, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from wasmtime.component import Record

from extplane_protos.alga.extension.v1 import types_pb2

M = TypeVar("M", bound=Message)
_KEY_VALUE: Descriptor = types_pb2.KeyValue.DESCRIPTOR


class ContractValueError(ValueError):
    """A value outside the contract (an unspecified enum, a missing record field)."""


def wit_name(proto_name: str) -> str:
    return proto_name.replace("_", "-")


@cache
def _prefix(enum: EnumDescriptor) -> str:
    zero = enum.values_by_number[0].name
    return zero.removesuffix("UNSPECIFIED")


def enum_case(enum: EnumDescriptor, number: int) -> str:
    """The WIT case name of proto value `number`; never the `_UNSPECIFIED` zero."""
    value = enum.values_by_number.get(number)
    if value is None or number == 0:
        raise ContractValueError(f"{enum.full_name}: {number} is no case of the WIT enum")
    return value.name.removeprefix(_prefix(enum)).lower().replace("_", "-")


@cache
def _numbers(enum: EnumDescriptor) -> dict[str, int]:
    return {enum_case(enum, value.number): value.number for value in enum.values if value.number}


def enum_number(enum: EnumDescriptor, case: str) -> int:
    found = _numbers(enum).get(case)
    if found is None:
        raise ContractValueError(f"{enum.full_name}: {case!r} is no case of the WIT enum")
    return found


def _fields(message: Message) -> Sequence[FieldDescriptor]:
    return cast(Sequence[FieldDescriptor], message.DESCRIPTOR.fields)


def _is_optional(field: FieldDescriptor) -> bool:
    return field.has_presence and field.message_type is None and not _repeated(field)


def _repeated(field: FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def to_message(value: Any, message_type: type[M]) -> M:
    """The proto message of a WIT record value."""
    message = message_type()
    fill_message(message, value)
    return message


def fill_message(message: Message, value: Any) -> None:
    for field in _fields(message):
        name = wit_name(field.name)
        if not hasattr(value, name):
            raise ContractValueError(f"record field {name} missing")
        set_field(message, field, getattr(value, name))


def set_field(message: Message, field: FieldDescriptor, value: Any) -> None:
    """Set `field` of `message` from its WIT value (None: an unset option)."""
    if _repeated(field):
        target = getattr(message, field.name)
        if field.message_type is _KEY_VALUE:
            for key, item in value:
                target.add(key=key, value=item)
        elif field.message_type is not None:
            for item in value:
                fill_message(target.add(), item)
        elif field.enum_type is not None:
            target.extend(enum_number(field.enum_type, item) for item in value)
        else:
            target.extend(value)
        return
    if field.message_type is not None:
        fill_message(getattr(message, field.name), value)
        return
    if value is None:
        if not _is_optional(field):
            raise ContractValueError(f"field {wit_name(field.name)} is not an option")
        return
    if field.enum_type is not None:
        value = enum_number(field.enum_type, value)
    setattr(message, field.name, value)


def to_record(message: Message) -> Record:
    """The WIT record value of a proto message."""
    record = Record()
    for field in _fields(message):
        setattr(record, wit_name(field.name), field_value(message, field))
    return record


def field_value(message: Message, field: FieldDescriptor) -> Any:
    """The WIT value of one field of `message`."""
    value = getattr(message, field.name)
    if _repeated(field):
        return _list_value(field, value)
    if field.message_type is not None:
        return to_record(value)
    if _is_optional(field) and not message.HasField(field.name):
        return None
    if field.enum_type is not None:
        return enum_case(field.enum_type, value)
    if field.type == FieldDescriptor.TYPE_DOUBLE:
        return float(value)
    return value


def _list_value(field: FieldDescriptor, items: Iterable[Any]) -> list[Any]:
    if field.message_type is _KEY_VALUE:
        return [(item.key, item.value) for item in items]
    if field.message_type is not None:
        return [to_record(item) for item in items]
    if field.enum_type is not None:
        return [enum_case(field.enum_type, item) for item in items]
    return list(items)
