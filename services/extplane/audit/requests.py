"""Query requests checked and turned into store queries; page tokens.

A page token is opaque to callers: URL-safe base64 of a small JSON object
holding the last sequence returned and a fingerprint of the filter and
order it was issued for, so a token replayed with another filter is refused
rather than silently paging something else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Literal

from google.protobuf.timestamp_pb2 import Timestamp

from extplane.audit.query import RecordFilter
from extplane.audit.validation import MAX_CHARS, OUTCOMES
from extplane.runtime.bad_request import FieldViolation, InvalidRequestError
from extplane.runtime.timestamps import NS_PER_S
from extplane_protos.orloj.extensions.v1 import audit_query_pb2

MAX_TOKEN_CHARS = 512
_TOKEN_VERSION = 1
_ORDERS = {
    audit_query_pb2.AUDIT_ORDER_UNSPECIFIED: False,
    audit_query_pb2.AUDIT_ORDER_ASCENDING: False,
    audit_query_pb2.AUDIT_ORDER_DESCENDING: True,
}


# The filter fields ListAuditEventsRequest and ExportAuditEventsRequest share.
FilterRequest = audit_query_pb2.ListAuditEventsRequest | audit_query_pb2.ExportAuditEventsRequest


def _time(
    request: FilterRequest,
    field: Literal["start_time", "end_time"],
    found: list[FieldViolation],
) -> int | None:
    if not request.HasField(field):
        return None
    ts: Timestamp = getattr(request, field)
    if not 0 <= ts.nanos < NS_PER_S:
        found.append(FieldViolation(field, "nanos must be in 0..999999999"))
        return None
    if ts.seconds < 0:
        found.append(FieldViolation(field, "must not be before 1970-01-01T00:00:00Z"))
        return None
    return ts.seconds * NS_PER_S + ts.nanos


def record_filter(request: FilterRequest) -> tuple[RecordFilter, bool]:
    """(filter, descending) of a list or export request; raises naming the field."""
    found: list[FieldViolation] = []
    for name in ("actor", "action", "resource", "namespace"):
        if len(getattr(request, name)) > MAX_CHARS[name]:
            found.append(FieldViolation(name, f"at most {MAX_CHARS[name]} characters"))
    if request.outcome and request.outcome not in OUTCOMES:
        found.append(FieldViolation("outcome", f"must be empty or one of {', '.join(OUTCOMES)}"))
    start_ns = _time(request, "start_time", found)
    end_ns = _time(request, "end_time", found)
    if start_ns is not None and end_ns is not None and end_ns <= start_ns:
        found.append(FieldViolation("end_time", "must be after start_time"))
    if request.order not in _ORDERS:
        found.append(FieldViolation("order", f"unknown order {int(request.order)}"))
    if found:
        raise InvalidRequestError(found)
    record = RecordFilter(
        actor=request.actor,
        action=request.action,
        resource=request.resource,
        namespace=request.namespace,
        outcome=request.outcome,
        start_ns=start_ns,
        end_ns=end_ns,
    )
    return record, _ORDERS[request.order]


def _fingerprint(parts: Sequence[object]) -> str:
    return hashlib.sha256(json.dumps(list(parts)).encode()).hexdigest()[:16]


def _encode(body: dict[str, object]) -> str:
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(token: str) -> dict[str, object]:
    invalid = InvalidRequestError([FieldViolation("page_token", "not a token this API issued")])
    if len(token) > MAX_TOKEN_CHARS:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
    except (ValueError, binascii.Error):
        raise invalid from None
    if not isinstance(body, dict) or body.get("v") != _TOKEN_VERSION:
        raise invalid
    return body


def _after(body: dict[str, object]) -> int:
    after = body.get("a")
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise InvalidRequestError([FieldViolation("page_token", "not a token this API issued")])
    return after


def _records_fingerprint(record: RecordFilter, descending: bool) -> str:
    return _fingerprint(
        [
            record.actor,
            record.action,
            record.resource,
            record.namespace,
            record.outcome,
            record.start_ns,
            record.end_ns,
            descending,
        ]
    )


def records_token(record: RecordFilter, descending: bool, last_sequence: int) -> str:
    return _encode(
        {"v": _TOKEN_VERSION, "f": _records_fingerprint(record, descending), "a": last_sequence}
    )


def records_cursor(token: str, record: RecordFilter, descending: bool) -> int | None:
    """The last sequence a ListAuditEvents token carries; None for the first page."""
    if not token:
        return None
    body = _decode(token)
    if body.get("f") != _records_fingerprint(record, descending):
        raise InvalidRequestError(
            [FieldViolation("page_token", "issued for another filter or order; keep them the same")]
        )
    return _after(body)


def checkpoints_token(last_sequence: int) -> str:
    return _encode({"v": _TOKEN_VERSION, "f": "checkpoints", "a": last_sequence})


def checkpoints_cursor(token: str) -> int:
    """The last checkpoint sequence a ListAuditCheckpoints token carries (0: none)."""
    if not token:
        return 0
    body = _decode(token)
    if body.get("f") != "checkpoints":
        raise InvalidRequestError([FieldViolation("page_token", "not a checkpoints token")])
    return _after(body)
