"""Every field of a request at each of its edges, one field at a time.

Random generation finds the odd combination; boundaries need system: this
walks a message's fields (and those of the messages it holds, one level of
lists included) and yields a valid request with just that field set to each
edge of its type: integers at and past every bound, Timestamps at and past
protobuf's and int64 nanoseconds' range, NUL, controls and huge text,
undeclared enum numbers, empty, long and huge lists and maps.

The valid request is found by asking the server (`valid_base`): start from
plausible values everywhere and change each field the server's
`google.rpc.BadRequest` names, until it accepts the request. An edge then
reaches the code behind the field's own check instead of being refused for
some other field.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

_F = FieldDescriptor
TIMESTAMP = "google.protobuf.Timestamp"
MAX_DEPTH = 2
BIG_LIST = 2_000
BIG_MAP = 10_000

_INT_EDGES = {
    32: [0, 1, -1, 1000, 1001, 2**31 - 1, -(2**31)],
    64: [0, 1, -1, 1000, 1001, 10**12, 10**12 + 1, 2**63 - 1, -(2**63)],
}
_UNSIGNED = {_F.TYPE_UINT32: 2**32 - 1, _F.TYPE_FIXED32: 2**32 - 1}
_UNSIGNED64 = {_F.TYPE_UINT64: 2**64 - 1, _F.TYPE_FIXED64: 2**64 - 1}
_BITS32 = {_F.TYPE_INT32, _F.TYPE_SINT32, _F.TYPE_SFIXED32}
_BITS64 = {_F.TYPE_INT64, _F.TYPE_SINT64, _F.TYPE_SFIXED64}
_STRINGS = [
    "",
    "\x00",
    "a\x00b",
    "\x1f\x7f\x85",
    "\u2028\ufeff",
    "x" * 129,
    "x" * 257,
    "x" * 513,
    "x" * 70_000,
    "\U0001f600" * 300,
]
_TIMESTAMPS = [
    (0, 0),
    (-1, 0),
    (-62_135_596_800, 0),
    (-62_135_596_801, 0),
    (253_402_300_799, 999_999_999),
    (253_402_300_800, 0),
    (9_223_372_036, 854_775_807),
    (9_223_372_037, 0),
    (-9_223_372_037, 0),
    (2**63 - 1, 0),
    (-(2**63), 0),
    (0, -1),
    (0, 1_000_000_000),
]


def _map_fields(field: FieldDescriptor) -> tuple[FieldDescriptor, FieldDescriptor] | None:
    entry = field.message_type
    if entry is None or not entry.GetOptions().map_entry:
        return None
    return entry.fields_by_name["key"], entry.fields_by_name["value"]


def _plain(field: FieldDescriptor, depth: int) -> Any:
    """A value a real caller would send."""
    if field.message_type is not None:
        if field.message_type.full_name == TIMESTAMP:
            # Later fields later in time, so a start comes before its end.
            return {"seconds": int(time.time()) - 3600 * (32 - min(field.number, 31))}
        return plausible(field.message_type, depth + 1) if depth < MAX_DEPTH else {}
    if field.enum_type is not None:
        numbers = [v.number for v in field.enum_type.values]
        return next((n for n in numbers if n), numbers[0])
    if field.type == _F.TYPE_STRING:
        return "team-a"
    if field.type == _F.TYPE_BYTES:
        return b"data"
    if field.type == _F.TYPE_BOOL:
        return False
    return 1


def plausible(message: Descriptor, depth: int = 0) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in message.fields:
        if field.containing_oneof is not None and field.containing_oneof.fields[0] is not field:
            continue  # one member of each oneof
        if _map_fields(field) is not None:
            continue
        value = _plain(field, depth)
        values[field.name] = [value] if field.is_repeated else value
    return values


def _scalar_edges(field: FieldDescriptor) -> list[Any]:
    if field.enum_type is not None:
        numbers = [v.number for v in field.enum_type.values]
        return [*numbers, max(numbers) + 1, -1, 2**31 - 1]
    if field.type in _BITS32:
        return _INT_EDGES[32]
    if field.type in _BITS64:
        return _INT_EDGES[64]
    if field.type in _UNSIGNED:
        return [0, 1, 1001, _UNSIGNED[field.type]]
    if field.type in _UNSIGNED64:
        return [0, 1, 1001, 2**63, _UNSIGNED64[field.type]]
    if field.type == _F.TYPE_STRING:
        return _STRINGS
    if field.type == _F.TYPE_BYTES:
        return [b"", b"\x00" * 70_000]
    if field.type == _F.TYPE_BOOL:
        return [True]
    return [0.0, -1.0, float("inf"), float("nan"), 1e308]


def _edges(field: FieldDescriptor, depth: int) -> Iterator[tuple[str, Any]]:
    """(label, value) for each edge of one field."""
    entry = _map_fields(field)
    if entry is not None:
        key, value = entry
        plain = _plain(value, depth)
        yield "empty map", {}
        if key.type == _F.TYPE_STRING:
            yield "NUL and huge keys", {"\x00": plain, "x" * 70_000: plain}
            yield f"{BIG_MAP} entries", {f"k{i}": plain for i in range(BIG_MAP)}
        return
    message = field.message_type
    if message is not None and message.full_name == TIMESTAMP:
        singles: list[tuple[str, Any]] = [
            (f"seconds={s} nanos={n}", {"seconds": s, "nanos": n}) for s, n in _TIMESTAMPS
        ]
    elif message is not None:
        singles = [("empty", {})]
    else:
        singles = [(repr(v)[:40], v) for v in _scalar_edges(field)]
    if not field.is_repeated:
        yield from singles
        return
    yield "[]", []
    for label, value in singles:
        yield f"[{label}]", [value]
    yield f"{BIG_LIST} elements", [_plain(field, depth)] * BIG_LIST


# Values tried in turn for a field the server refuses, by kind of field;
# UNSET takes the field out.
UNSET = object()
_STRING_CANDIDATES = [UNSET, "allowed", "a", "1"]
_INT_CANDIDATES = [UNSET, 100, 1000]
_INDEX = re.compile(r"\[[^\]]*\]")
# Judge: the request's bytes -> None when accepted, else the fields it names.
Judge = Callable[[bytes], list[str] | None]


def _candidates(message: Descriptor, path: tuple[str, ...]) -> list[Any]:
    field: FieldDescriptor | None = None
    current: Descriptor | None = message
    for name in path:
        field = current.fields_by_name.get(name) if current is not None else None
        if field is None:
            return []
        current = field.message_type
    assert field is not None
    if field.enum_type is not None:
        return [v.number for v in field.enum_type.values]
    if field.type == _F.TYPE_STRING:
        return _STRING_CANDIDATES
    if field.type in _BITS32 | _BITS64 | set(_UNSIGNED) | set(_UNSIGNED64):
        return _INT_CANDIDATES
    if field.message_type is not None and field.message_type.full_name == TIMESTAMP:
        return [UNSET, {"seconds": int(time.time()) - 60}]
    return [UNSET]


def valid_base(message: Descriptor, judge: Judge, rounds: int = 8) -> dict[str, Any]:
    """Plausible values, changed field by field until `judge` accepts them."""
    cls = message_factory.GetMessageClass(message)
    values = plausible(message)
    tried: dict[tuple[str, ...], int] = {}
    for _ in range(rounds):
        named = judge(cls(**values).SerializeToString())
        if not named:
            return values
        changed = False
        for field in named:
            path = tuple(_INDEX.sub("", field).split("."))
            options = _candidates(message, path)
            index = tried.get(path, -1) + 1
            if index < len(options):
                tried[path] = index
                values = _with(values, path, options[index])
                changed = True
        if not changed:
            break
    return values


def edge_cases(message: Descriptor, base: dict[str, Any]) -> Iterator[tuple[str, bytes]]:
    """(what was set, request bytes) for each edge of each field, nested ones included:
    once on `base`, once alone (so no other field's rule, such as a range that must
    end after it starts, stands in front of the field's own)."""
    cls = message_factory.GetMessageClass(message)
    for path, edge_label, value in _walk(message, 0):
        for on, values in (("", _with(base, path, value)), (" alone", _with({}, path, value))):
            try:
                built: Message = cls(**values)
            except (ValueError, TypeError, OverflowError):
                continue  # a value protobuf itself cannot hold (e.g. a closed enum's number)
            yield f"{'.'.join(path)} = {edge_label}{on}", built.SerializeToString()


def _walk(message: Descriptor, depth: int) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    for field in message.fields:
        for label, value in _edges(field, depth):
            yield (field.name,), label, value
        nested = field.message_type
        descend = (
            nested is not None
            and nested.full_name != TIMESTAMP
            and _map_fields(field) is None
            and depth < MAX_DEPTH
        )
        if descend:
            assert nested is not None
            for path, label, value in _walk(nested, depth + 1):
                yield (field.name, *path), label, value


def _with(base: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """`base` with the field at `path` set to `value` (through the first list element)."""
    copy = dict(base)
    head, *rest = path
    if not rest:
        if value is UNSET:
            copy.pop(head, None)
        else:
            copy[head] = value
        return copy
    inner = copy.get(head, {})
    if isinstance(inner, list):
        copy[head] = [_with(inner[0] if inner else {}, tuple(rest), value)]
    else:
        copy[head] = _with(inner, tuple(rest), value)
    return copy
