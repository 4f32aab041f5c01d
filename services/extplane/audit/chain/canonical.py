"""The hash chain: the canonical encoding of a record, its hash, and what a
checkpoint signs. docs/audit.md states the same byte for byte, so anyone can
verify an export without this code.

    hash(n) = SHA-256(hash(n-1) || canonical(record n)),  hash(0) = 32 zero bytes

canonical(record) is a fixed header followed by the text fields:

    u64 sequence, u64 timestamp_ns, u64 receive_time_ns        (big-endian)
    u32 byte length of each text field, in the order below     (big-endian)
    event_id, action, actor, resource, namespace, outcome, details   (UTF-8)
    [version 2 only] principal                                       (UTF-8)

`details` is the map as canonical JSON (`canonical_details`). Lengths first,
then the bytes: the encoding is unambiguous without escaping, and the whole
header is one `struct.pack`.

Version 1 (records written before the principal was kept) has seven text
fields, version 2 eight: the writer's principal last. No byte string is both:
a version 1 encoding is exactly 52 bytes plus its seven lengths long, a
version 2 one 56 plus the same seven (read at the same offsets) plus an
eighth, so the length alone tells them apart. Both start with the sequence.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping
from typing import NamedTuple

GENESIS = bytes(32)
HASH_BYTES = 32

HEADER = struct.Struct(">QQQIIIIIII")  # version 1
HEADER_V2 = struct.Struct(">QQQIIIIIIII")
SEQUENCE = struct.Struct(">Q")  # the header's first field
TEXT_FIELDS = ("event_id", "action", "actor", "resource", "namespace", "outcome", "details")
TEXT_FIELDS_V2 = (*TEXT_FIELDS, "principal")
CURRENT_VERSION = 2
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
    principal: bytes | None = None,
) -> bytes:
    """canonical(record) from its fields, the text ones already UTF-8: version 2
    with a `principal`, version 1 (a record from before it) with None."""
    texts: tuple[bytes, ...] = (event_id, action, actor, resource, namespace, outcome, details)
    if principal is not None:
        texts = (*texts, principal)
    header = HEADER if principal is None else HEADER_V2
    lengths = (len(text) for text in texts)
    return b"".join((header.pack(sequence, timestamp_ns, receive_time_ns, *lengths), *texts))


class Decoded(NamedTuple):
    version: int
    sequence: int
    timestamp_ns: int
    receive_time_ns: int
    texts: list[bytes]  # in TEXT_FIELDS_V2 order; a version 1 principal is empty


def split_canonical(data: bytes) -> Decoded | None:
    """The fields of a canonical encoding of either version; None when `data` is
    neither."""
    for version, header in ((1, HEADER), (2, HEADER_V2)):
        if len(data) < header.size:
            return None
        sequence, timestamp_ns, receive_time_ns, *lengths = header.unpack_from(data)
        if header.size + sum(lengths) != len(data):
            continue
        texts, offset = [], header.size
        for length in lengths:
            texts.append(data[offset : offset + length])
            offset += length
        if version == 1:
            texts.append(b"")
        return Decoded(version, sequence, timestamp_ns, receive_time_ns, texts)
    return None


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
    principal: str | None = None,
) -> bytes:
    """hash(n) of a record whose predecessor hashed to `previous` (version 1
    when `principal` is None, else 2)."""
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
        None if principal is None else principal.encode(),
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
