"""The hash chain: the canonical encoding of a record, its hash, and what a
checkpoint signs. docs/audit.md states the same byte for byte, so anyone can
verify an export without this code.

    hash(n) = SHA-256(hash(n-1) || canonical(record n)),  hash(0) = 32 zero bytes

canonical(record) is a fixed header followed by the text fields:

    u64 sequence, u64 timestamp_ns, u64 receive_time_ns        (big-endian)
    u32 byte length of each text field, in the order below     (big-endian)
    event_id, action, actor, resource, namespace, outcome, details   (UTF-8)

`details` is the map as canonical JSON (`canonical_details`). Lengths first,
then the bytes: the encoding is unambiguous without escaping, and the whole
header is one `struct.pack`.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping

GENESIS = bytes(32)
HASH_BYTES = 32

HEADER = struct.Struct(">QQQIIIIIII")
SEQUENCE = struct.Struct(">Q")  # the header's first field
TEXT_FIELDS = ("event_id", "action", "actor", "resource", "namespace", "outcome", "details")
_CHECKPOINT = struct.Struct(">Q32sQ")
CHECKPOINT_DOMAIN = b"extplane.audit.checkpoint.v1\x00"


def canonical_details(details: Mapping[str, str]) -> str:
    """The map as JSON: keys sorted by code point, no whitespace, non-ASCII
    characters as themselves (UTF-8), control characters escaped as JSON requires."""
    return json.dumps(dict(details), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(
    sequence: int,
    timestamp_ns: int,
    receive_time_ns: int,
    event_id: bytes,
    action: bytes,
    actor: bytes,
    resource: bytes,
    namespace: bytes,
    outcome: bytes,
    details: bytes,
) -> bytes:
    """canonical(record) from its fields, the text ones already UTF-8."""
    header = HEADER.pack(
        sequence,
        timestamp_ns,
        receive_time_ns,
        len(event_id),
        len(action),
        len(actor),
        len(resource),
        len(namespace),
        len(outcome),
        len(details),
    )
    return b"".join((header, event_id, action, actor, resource, namespace, outcome, details))


def split_canonical(data: bytes) -> tuple[int, int, int, list[bytes]] | None:
    """(sequence, timestamp_ns, receive_time_ns, the text fields' bytes in
    TEXT_FIELDS order) of a canonical encoding; None when `data` is not one."""
    if len(data) < HEADER.size:
        return None
    sequence, timestamp_ns, receive_time_ns, *lengths = HEADER.unpack_from(data)
    if HEADER.size + sum(lengths) != len(data):
        return None
    texts, offset = [], HEADER.size
    for length in lengths:
        texts.append(data[offset : offset + length])
        offset += length
    return sequence, timestamp_ns, receive_time_ns, texts


def record_hash(
    previous: bytes,
    sequence: int,
    timestamp_ns: int,
    receive_time_ns: int,
    event_id: str,
    action: str,
    actor: str,
    resource: str,
    namespace: str,
    outcome: str,
    details: str,
) -> bytes:
    """hash(n) of a record whose predecessor hashed to `previous`."""
    body = canonical_bytes(
        sequence,
        timestamp_ns,
        receive_time_ns,
        event_id.encode(),
        action.encode(),
        actor.encode(),
        resource.encode(),
        namespace.encode(),
        outcome.encode(),
        details.encode(),
    )
    return hashlib.sha256(previous + body).digest()


def checkpoint_payload(sequence: int, record_hash: bytes, create_time_ns: int) -> bytes:
    """What a checkpoint's Ed25519 signature covers:

    "extplane.audit.checkpoint.v1" NUL || u64 sequence || 32-byte hash || u64 create_time_ns

    The domain prefix keeps a checkpoint signature from ever meaning anything else.
    """
    if len(record_hash) != HASH_BYTES:
        raise ValueError(f"a record hash has {HASH_BYTES} bytes, got {len(record_hash)}")
    return CHECKPOINT_DOMAIN + _CHECKPOINT.pack(sequence, record_hash, create_time_ns)
