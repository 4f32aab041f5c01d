"""The few pieces of the protobuf wire format the sinks' worker writes by hand.

`record()` keeps an event as its encoding (one `SerializeToString`, the cheapest
safe copy), and the worker builds requests from those bytes without parsing them
again. Two rules of the format make that possible:

* A request whose event field is number 1 (`RecordMeteringRequest.event`,
  `RecordMeteringBatchRequest.events`, and the same for audit) is just that field,
  tagged and length-prefixed; a repeated field is the same, once per element.
* Fields appended to an encoded message are read as part of it: for a string
  field the last occurrence wins, and a message field is merged. So an event whose
  `event_id` was empty (absent from its encoding) gets one by appending the field,
  and one without a `timestamp` gets one the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.timestamp_pb2 import Timestamp

_LENGTH_DELIMITED = 2
_NANOS_PER_SECOND = 1_000_000_000


def varint(value: int) -> bytes:
    """`value` (>= 0) as a base-128 varint, least significant group first."""
    if value < 0:
        raise ValueError(f"value: a varint here is never negative, got {value}")
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varint_size(value: int) -> int:
    """The length of `varint(value)`, without building it."""
    return max(1, (value.bit_length() + 6) // 7)


def length_delimited(field_number: int, payload: bytes) -> bytes:
    """One length-delimited field: tag, length, payload (a string or a message)."""
    return varint(field_number << 3 | _LENGTH_DELIMITED) + varint(len(payload)) + payload


def repeated(field_number: int, payloads: Iterable[bytes]) -> bytes:
    """A repeated message field holding `payloads`, in order."""
    tag = varint(field_number << 3 | _LENGTH_DELIMITED)
    return b"".join(tag + varint(len(payload)) + payload for payload in payloads)


def timestamp(unix_ns: int) -> bytes:
    """The encoding of a `google.protobuf.Timestamp` at `unix_ns`."""
    seconds, nanos = divmod(unix_ns, _NANOS_PER_SECOND)
    return Timestamp(seconds=seconds, nanos=nanos).SerializeToString()
