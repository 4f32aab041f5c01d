"""hypothesis strategies for any protobuf message, from its descriptor alone.

Three kinds of request, all as the bytes a client would send:
* `plausible_messages`: values a real caller sends (recent timestamps, short
  labels, small counts, declared enum values), so many pass validation and
  reach the store;
* `hostile_messages`: every field from the extremes: integers at and past
  every bound, Timestamps outside what protobuf and the stores hold, NUL and
  control characters, huge strings, long lists and big maps, undeclared enum
  numbers, deep nesting;
* `mutated`: a plausible message with a few of its fields made hostile, or
  its bytes flipped, cut or spliced, and plain random bytes;
* `with_page_tokens`: a plausible list request carrying a page token the
  server issued, edited (its base64 decoded, numbers inflated, bytes flipped).
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

_F = FieldDescriptor
TIMESTAMP = "google.protobuf.Timestamp"
MAX_DEPTH = 4
HUGE_STRING_CHARS = (257, 513, 70_000, 1_000_000)
BIG_LIST = 2_000
BIG_MAP = 10_000

_INT_RANGES = {
    _F.TYPE_INT32: (-(2**31), 2**31 - 1),
    _F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    _F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    _F.TYPE_UINT32: (0, 2**32 - 1),
    _F.TYPE_FIXED32: (0, 2**32 - 1),
    _F.TYPE_INT64: (-(2**63), 2**63 - 1),
    _F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    _F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    _F.TYPE_UINT64: (0, 2**64 - 1),
    _F.TYPE_FIXED64: (0, 2**64 - 1),
}
_LABELS = ["team-a", "team-b", "planner", "agent-1", "gpt-x", "tool_invoke", "allowed", "denied"]
# Seconds at the edges: protobuf's Timestamp range, int64 nanoseconds, 1970, int64.
_EDGE_SECONDS = [
    0,
    -1,
    -62_135_596_800,
    -62_135_596_801,
    253_402_300_799,
    253_402_300_800,
    9_223_372_036,
    9_223_372_037,
    -9_223_372_037,
    2**63 - 1,
    -(2**63),
]
_EDGE_NANOS = [0, 999_999_999, 1_000_000_000, -1, 2**31 - 1, -(2**31)]
_CONTROL_TEXT = st.text(
    alphabet=st.sampled_from(["\x00", "\x01", "\x1f", "\x7f", "\x85", "\u2028", "\ufeff", "a"]),
    max_size=20,
)

Strategy = st.SearchStrategy[Any]


def _int_strategy(field: FieldDescriptor, hostile: bool) -> Strategy:
    low, high = _INT_RANGES[field.type]
    if not hostile:
        return st.integers(0, min(high, 1000))
    edges = [v for v in (0, 1, -1, low, high, 1000, 1001, 10**12, 10**12 + 1) if low <= v <= high]
    return st.sampled_from(edges) | st.integers(low, high)


def _string_strategy(hostile: bool) -> Strategy:
    if not hostile:
        return st.sampled_from(["", *_LABELS]) | st.text(
            alphabet=st.characters(codec="ascii", categories=["L", "N"]), max_size=12
        )
    huge = st.sampled_from(HUGE_STRING_CHARS).map(lambda n: "x" * n)
    return st.text(max_size=40) | _CONTROL_TEXT | huge


def _scalar(field: FieldDescriptor, hostile: bool) -> Strategy:
    if field.enum_type is not None:
        declared = st.sampled_from([v.number for v in field.enum_type.values])
        return declared | st.integers(-(2**31), 2**31 - 1) if hostile else declared
    if field.type in _INT_RANGES:
        return _int_strategy(field, hostile)
    if field.type == _F.TYPE_BOOL:
        return st.booleans()
    if field.type in (_F.TYPE_DOUBLE, _F.TYPE_FLOAT):
        return st.floats(width=32 if field.type == _F.TYPE_FLOAT else 64)
    if field.type == _F.TYPE_STRING:
        return _string_strategy(hostile)
    huge_bytes = st.sampled_from(HUGE_STRING_CHARS).map(lambda n: b"\x00" * n)
    return st.binary(max_size=64) | huge_bytes if hostile else st.binary(max_size=16)


def _timestamp(hostile: bool) -> Strategy:
    if not hostile:
        # Drawn as an age, so the draws do not depend on the clock (hypothesis replays them).
        recent = st.integers(0, 86_400).map(lambda ago: int(time.time()) - ago)
        return st.builds(dict, seconds=recent, nanos=st.integers(0, 999_999_999))
    seconds = st.one_of(
        st.sampled_from(_EDGE_SECONDS),
        # Valid Timestamps past what int64 nanoseconds hold, either side.
        st.integers(9_223_372_037, 253_402_300_799),
        st.integers(-62_135_596_800, -9_223_372_037),
        st.integers(-(2**63), 2**63 - 1),
    )
    # Mostly valid nanos, so the seconds are what gets judged.
    nanos = st.one_of(
        st.integers(0, 999_999_999),
        st.sampled_from(_EDGE_NANOS),
        st.integers(-(2**31), 2**31 - 1),
    )
    return st.builds(dict, seconds=seconds, nanos=nanos)


def _map_entry(field: FieldDescriptor) -> tuple[FieldDescriptor, FieldDescriptor] | None:
    entry = field.message_type
    if entry is None or not entry.GetOptions().map_entry:
        return None
    return entry.fields_by_name["key"], entry.fields_by_name["value"]


@st.composite
def _fields(draw: st.DrawFn, message: Descriptor, hostile: bool, depth: int) -> dict[str, Any]:
    """A dict of field values (protobuf's own constructor form) for `message`."""
    if message.full_name == TIMESTAMP:
        timestamp: dict[str, Any] = draw(_timestamp(hostile))
        return timestamp
    values: dict[str, Any] = {}
    for field in message.fields:
        if not draw(st.booleans()):
            continue
        entry = _map_entry(field)
        if entry is not None:
            if depth >= MAX_DEPTH:
                continue
            key, value = (_single(f, hostile, depth + 1) for f in entry)
            size = st.sampled_from([0, 1, 3, BIG_MAP]) if hostile else st.integers(0, 3)
            count = draw(size)
            values[field.name] = draw(
                st.dictionaries(key, value, min_size=min(count, 1), max_size=count)
                if count < BIG_MAP
                else st.just({f"k{i}": _value_of(entry[1], i) for i in range(BIG_MAP)})
            )
        elif field.is_repeated:
            if field.message_type is not None and depth >= MAX_DEPTH:
                continue
            count = draw(st.sampled_from([0, 1, 5, BIG_LIST]) if hostile else st.integers(0, 3))
            if count == BIG_LIST:
                # Long, not huge: one plausible element many times.
                values[field.name] = [draw(_single(field, False, depth + 1))] * BIG_LIST
            else:
                values[field.name] = draw(
                    st.lists(_single(field, hostile, depth + 1), max_size=count)
                )
        elif field.message_type is None or depth < MAX_DEPTH:
            values[field.name] = draw(_single(field, hostile, depth + 1))
    return values


def _value_of(field: FieldDescriptor, index: int) -> Any:
    if field.message_type is not None:
        return {}
    if field.type == _F.TYPE_STRING:
        return f"v{index}"
    return 0 if field.type != _F.TYPE_BOOL else False


def _single(field: FieldDescriptor, hostile: bool, depth: int) -> Strategy:
    if field.message_type is not None:
        return _fields(field.message_type, hostile, depth)
    return _scalar(field, hostile)


def _build(message: Descriptor) -> Callable[[dict[str, Any]], Message]:
    cls = message_factory.GetMessageClass(message)

    def build(values: dict[str, Any]) -> Message:
        built: Message = cls(**values)
        return built

    return build


def plausible_messages(message: Descriptor) -> st.SearchStrategy[Message]:
    return _fields(message, False, 0).map(_build(message))


def hostile_messages(message: Descriptor) -> st.SearchStrategy[Message]:
    return _fields(message, True, 0).map(_build(message))


@st.composite
def _mutated_fields(draw: st.DrawFn, message: Descriptor) -> Message:
    plausible = draw(_fields(message, False, 0))
    hostile = draw(_fields(message, True, 0))
    for name in list(hostile):
        if draw(st.integers(0, 3)) == 0:  # about one field in four turned hostile
            plausible[name] = hostile[name]
    return _build(message)(plausible)


@st.composite
def _mutated_bytes(draw: st.DrawFn, message: Descriptor) -> bytes:
    raw = bytearray(draw(plausible_messages(message)).SerializeToString())
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "splice", "insert"]))
        if action == "flip" and raw:
            at = draw(st.integers(0, len(raw) - 1))
            raw[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut" and raw:
            del raw[draw(st.integers(0, len(raw) - 1)) :]
        elif action == "splice":
            raw += draw(st.binary(min_size=1, max_size=16))
        else:
            at = draw(st.integers(0, len(raw)))
            raw[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(raw)


def requests(message: Descriptor) -> st.SearchStrategy[bytes]:
    """The bytes of one request: plausible, hostile, field- or byte-mutated, or garbage."""

    def serialized(message: Message) -> bytes:
        return message.SerializeToString()

    return st.one_of(
        plausible_messages(message).map(serialized),
        hostile_messages(message).map(serialized),
        _mutated_fields(message).map(serialized),
        _mutated_bytes(message),
        st.binary(max_size=256),
    )


_DIGITS = re.compile(rb"[0-9]+")


@st.composite
def edited_tokens(draw: st.DrawFn, issued: Sequence[str]) -> str:
    """A token the server issued, edited as a forger would."""
    token = draw(st.sampled_from(list(issued)))
    try:
        raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raw = bytearray(token.encode())
    edit = draw(st.sampled_from(["inflate", "negate", "flip", "cut"]))
    numbers = list(_DIGITS.finditer(raw))
    if edit in ("inflate", "negate") and numbers:
        found = draw(st.sampled_from(numbers))
        replacement = b"9" * draw(st.integers(19, 40)) if edit == "inflate" else b"-1"
        raw[found.start() : found.end()] = replacement
    elif edit == "cut" and raw:
        del raw[draw(st.integers(0, len(raw) - 1)) :]
    elif raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw[at] ^= 1 << draw(st.integers(0, 7))
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def with_page_tokens(message: Descriptor, issued: Sequence[str]) -> st.SearchStrategy[bytes]:
    """The request the tokens were issued for (no filter), with an edited token: a
    token is bound to its request's filter, so only then does the edit get read."""
    build = _build(message)

    @st.composite
    def request(draw: st.DrawFn) -> bytes:
        values = {"page_size": draw(st.integers(0, 5)), "page_token": draw(edited_tokens(issued))}
        built: bytes = build(values).SerializeToString()
        return built

    return request()
