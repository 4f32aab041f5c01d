"""The filters of list and export requests, checked and turned into store filters."""

from __future__ import annotations

from typing import Literal

from google.protobuf.timestamp_pb2 import Timestamp

from extplane.audit.store.record_query import RecordFilter
from extplane.audit.validation import MAX_CHARS, OUTCOMES
from extplane.runtime.bad_request import FieldViolation, InvalidRequestError
from extplane.runtime.event_rules import text_problem
from extplane.runtime.timestamps import NS_PER_S
from extplane_protos.orloj.extensions.v1 import audit_query_pb2

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
        # The rules of stored text: a filter no record can match (NUL, control
        # characters) is refused alike on SQLite and PostgreSQL.
        problem = text_problem(getattr(request, name), MAX_CHARS[name])
        if problem is not None:
            found.append(FieldViolation(name, problem))
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
