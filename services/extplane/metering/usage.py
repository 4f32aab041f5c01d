"""GetUsage's domain: the request as a store query, and store rows as priced buckets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from extplane.errors import OutOfRangeError
from extplane.metering import cost
from extplane.metering.config import MeteringSettings
from extplane.metering.event_rows import to_timestamp
from extplane.metering.store import Dimension, EventFilter, UsageQuery, UsageRow
from extplane.runtime import bounds
from extplane.runtime.bad_request import FieldViolation, InvalidRequestError
from extplane.runtime.timestamps import NS_PER_S
from extplane_protos.orloj.extensions.v1 import metering_query_pb2 as query_pb2

WINDOW_NS: dict[int, int] = {
    query_pb2.USAGE_WINDOW_MINUTE: 60 * NS_PER_S,
    query_pb2.USAGE_WINDOW_HOUR: 3600 * NS_PER_S,
    query_pb2.USAGE_WINDOW_DAY: 86_400 * NS_PER_S,
}
DIMENSION_COLUMNS: dict[int, Dimension] = {
    query_pb2.USAGE_DIMENSION_NAMESPACE: "namespace",
    query_pb2.USAGE_DIMENSION_TASK: "task",
    query_pb2.USAGE_DIMENSION_AGENT: "agent",
    query_pb2.USAGE_DIMENSION_MODEL: "model",
}
# Each (window, group) bucket may split into one store row per model; rows
# beyond this many per allowed bucket mean the answer would be too large anyway.
_ROWS_PER_BUCKET = 10


QueryRequest = query_pb2.GetUsageRequest | query_pb2.ListMeteringEventsRequest


def event_filter(request: QueryRequest) -> EventFilter:
    """The request's filters (their bounds are checked by `bounds.check`)."""
    return EventFilter(request.namespace, request.task, request.agent, request.model)


def usage_query(
    request: query_pb2.GetUsageRequest, now_ns: int, settings: MeteringSettings
) -> UsageQuery:
    """The store query for `request`, whose declared bounds `bounds.check` passed;
    raises `InvalidRequestError` naming the field for the rules across fields."""
    start, end = bounds.time_range(request)
    if start is None:  # declared required
        raise InvalidRequestError.field("start_time", "required")
    if end is None:
        end = now_ns
        if end <= start:
            raise InvalidRequestError.field(
                "start_time", "must be before end_time, which defaults to now"
            )
    window_ns = WINDOW_NS.get(request.window)
    if window_ns is not None:
        first = start // window_ns * window_ns
        windows = -(-(end - first) // window_ns)
        if windows > settings.max_usage_windows:
            raise InvalidRequestError(
                [
                    FieldViolation(
                        "window",
                        f"the range spans {windows} windows, at most "
                        f"{settings.max_usage_windows}: choose a wider window or a shorter range",
                    )
                ]
            )
    # Declared values, each at most once (`bounds.check`).
    group_by = [DIMENSION_COLUMNS[number] for number in request.group_by]
    return UsageQuery(
        # Events are never before 1970; clamping keeps windows integer division.
        start_ns=max(start, 0),
        end_ns=end,
        window_ns=window_ns,
        group_by=tuple(group_by),
        filter=event_filter(request),
        max_rows=settings.max_usage_buckets * _ROWS_PER_BUCKET,
    )


@dataclass
class Totals:
    events: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    tool_calls: int = 0
    duration_ms: int = 0
    cost: Decimal = field(default_factory=lambda: cost.ZERO)

    def add(self, row: UsageRow, row_cost: Decimal) -> None:
        self.events += row.events
        self.tokens_in += row.tokens_in
        self.tokens_out += row.tokens_out
        self.tool_calls += row.tool_calls
        self.duration_ms += row.duration_ms
        self.cost = cost.add(self.cost, row_cost)


_INT64_MAX = 2**63 - 1


class SumOverflowError(OutOfRangeError):
    """A sum does not fit the response's int64."""


def _bucket(
    start_ns: int, end_ns: int, group_by: Sequence[Dimension], group: tuple[str, ...], t: Totals
) -> query_pb2.UsageBucket:
    if max(t.events, t.tokens_in, t.tokens_out, t.tool_calls, t.duration_ms) > _INT64_MAX:
        raise SumOverflowError("a sum exceeds int64: narrow the range or the filter")
    bucket = query_pb2.UsageBucket(
        window_start=to_timestamp(start_ns),
        window_end=to_timestamp(end_ns),
        events=t.events,
        tokens_in=t.tokens_in,
        tokens_out=t.tokens_out,
        tool_calls=t.tool_calls,
        duration_ms=t.duration_ms,
        cost=cost.format_cost(t.cost),
    )
    for column, value in zip(group_by, group, strict=True):
        setattr(bucket, column, value)
    return bucket


def usage_response(
    rows: Sequence[UsageRow], query: UsageQuery, settings: MeteringSettings, requested_start: int
) -> query_pb2.GetUsageResponse:
    """Buckets by window then group, each priced per model; the total over all.

    Raises `InvalidRequestError` (on `group_by`) when there are more buckets than allowed.
    """
    if len(rows) > query.max_rows:
        raise _too_many_buckets(settings)
    rate_card = settings.rate_card
    buckets: dict[tuple[int, tuple[str, ...]], Totals] = {}
    total = Totals()
    for row in rows:
        row_cost = cost.cost(rate_card, row.model, row.tokens_in, row.tokens_out)
        key = (row.window_start_ns, row.group)
        totals = buckets.get(key)
        if totals is None:
            totals = buckets[key] = Totals()
        totals.add(row, row_cost)
        total.add(row, row_cost)
    if len(buckets) > settings.max_usage_buckets:
        raise _too_many_buckets(settings)
    width = query.window_ns
    answer = query_pb2.GetUsageResponse(currency=rate_card.currency)
    for (window_start, group), totals in sorted(buckets.items()):
        if width is None:
            start, end = requested_start, query.end_ns
        else:
            start, end = window_start, window_start + width
        answer.buckets.append(_bucket(start, end, query.group_by, group, totals))
    answer.total.CopyFrom(_bucket(requested_start, query.end_ns, (), (), total))
    return answer


def _too_many_buckets(settings: MeteringSettings) -> InvalidRequestError:
    return InvalidRequestError(
        [
            FieldViolation(
                "group_by",
                f"more than {settings.max_usage_buckets} buckets: group by fewer dimensions, "
                "filter, or choose a wider window or a shorter range",
            )
        ]
    )
