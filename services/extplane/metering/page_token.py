"""ListMeteringEvents page tokens: opaque to callers, checked when they come back.

A token holds the position of the last event of a page, (timestamp_ns, seq),
and a fingerprint of the request's range and filters, so a token is refused
when reused with other filters (the contract says they must stay the same)
instead of silently paging through a different result.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from extplane.metering.store import EventFilter

_VERSION = 1
_LAYOUT = struct.Struct(">Bqq8s")


class BadPageTokenError(ValueError):
    """The token was not issued for this request."""


def fingerprint(start_ns: int | None, end_ns: int | None, event_filter: EventFilter) -> bytes:
    text = "\x00".join(
        [
            "" if start_ns is None else str(start_ns),
            "" if end_ns is None else str(end_ns),
            event_filter.namespace,
            event_filter.task,
            event_filter.agent,
            event_filter.model,
        ]
    )
    return hashlib.sha256(text.encode()).digest()[:8]


def encode(position: tuple[int, int], request_fingerprint: bytes) -> str:
    packed = _LAYOUT.pack(_VERSION, position[0], position[1], request_fingerprint)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode(token: str, request_fingerprint: bytes) -> tuple[int, int]:
    """The position in `token`; raises `BadPageTokenError` when it is not one of ours
    or was issued for another range or filter."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as error:
        raise BadPageTokenError("not a page token of this API") from error
    if len(raw) != _LAYOUT.size:
        raise BadPageTokenError("not a page token of this API")
    version, ts_ns, seq, issued_for = _LAYOUT.unpack(raw)
    if version != _VERSION:
        raise BadPageTokenError("not a page token of this API")
    if issued_for != request_fingerprint:
        raise BadPageTokenError(
            "issued for another range or filter; keep them as on the first page"
        )
    return ts_ns, seq
