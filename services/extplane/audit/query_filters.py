"""The filters of list and export requests, checked and turned into store filters."""

from __future__ import annotations

from extplane.audit.store.record_query import RecordFilter
from extplane.runtime import bounds
from extplane_protos.orloj.extensions.v1 import audit_query_pb2

_ORDERS = {
    audit_query_pb2.AUDIT_ORDER_UNSPECIFIED: False,
    audit_query_pb2.AUDIT_ORDER_ASCENDING: False,
    audit_query_pb2.AUDIT_ORDER_DESCENDING: True,
}


# The filter fields ListAuditEventsRequest and ExportAuditEventsRequest share.
FilterRequest = audit_query_pb2.ListAuditEventsRequest | audit_query_pb2.ExportAuditEventsRequest


def record_filter(request: FilterRequest) -> tuple[RecordFilter, bool]:
    """(filter, descending) of a list or export request whose declared bounds
    `bounds.check` passed (lengths, control characters, outcome, order); raises
    naming the field for the rule across fields."""
    start_ns, end_ns = bounds.time_range(request)
    record = RecordFilter(
        actor=request.actor,
        action=request.action,
        resource=request.resource,
        namespace=request.namespace,
        outcome=request.outcome,
        principal=request.principal,
        start_ns=start_ns,
        end_ns=end_ns,
    )
    return record, _ORDERS[request.order]
