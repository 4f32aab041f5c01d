"""The SQL both stores run, with `?` placeholders (`extplane.storage.sql`).

Column names come from fixed tuples, never from requests; values are always
bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from extplane.metering.event_rows import COLUMNS
from extplane.metering.store import EventFilter, EventsQuery, UsageQuery, UsageRow
from extplane.metering.store.schema import HORIZON, TABLE
from extplane.storage.sql import Conditions


def _conditions(start_ns: int | None, end_ns: int | None, event_filter: EventFilter) -> Conditions:
    conditions = Conditions()
    conditions.in_range("ts_ns", start_ns, end_ns)
    for column, value in event_filter.terms():
        conditions.equal(column, value)
    return conditions


# Each sum is taken in two parts, above and below 10^6, put back together in
# Python: SQLite's SUM of 64-bit integers fails past 2^63 (9.2M events at the
# per-event maximum), and a part cannot get there before 9 trillion events.
_SPLIT = 10**6
_SPLIT_SUMS = ", ".join(
    f"SUM({column} / {_SPLIT}), SUM({column} % {_SPLIT})"
    for column in ("tokens_in", "tokens_out", "tool_calls", "duration_ms")
)


def usage_sql(query: UsageQuery) -> tuple[str, list[object]]:
    """GROUP BY window, the group's dimensions and the model (cost is per model).

    Columns: window start (0 without a window), each of `group_by`, model,
    count, the four sums.
    """
    window_values: list[object] = []
    if query.window_ns is None:
        window = "0"  # one window: the caller knows where it starts
    else:
        # Windows align to the epoch, i.e. to UTC; timestamps are never negative.
        window = "(ts_ns / ?) * ?"
        window_values = [query.window_ns, query.window_ns]
    dimensions = [*query.group_by, "model"] if "model" not in query.group_by else [*query.group_by]
    conditions = _conditions(query.start_ns, query.end_ns, query.filter)
    keys = ", ".join(["w", *dimensions])
    select = ", ".join([f"{window} AS w", *query.group_by, "model"])
    sql = (
        f"SELECT {select}, COUNT(*), {_SPLIT_SUMS} FROM {TABLE}{conditions.where()}"
        f" GROUP BY {keys} LIMIT ?"
    )
    return sql, [*window_values, *conditions.values, query.max_rows + 1]


def usage_row(row: Sequence[Any], query: UsageQuery) -> UsageRow:
    """A row of `usage_sql`'s answer, its split sums put back together exactly."""
    width = len(query.group_by)
    split = [int(value) for value in row[3 + width :]]
    return UsageRow(
        int(row[0]) if query.window_ns is not None else query.start_ns,
        tuple(row[1 : 1 + width]),
        row[1 + width],
        int(row[2 + width]),
        *(high * _SPLIT + low for high, low in zip(split[::2], split[1::2], strict=True)),
    )


def events_sql(query: EventsQuery) -> tuple[str, list[object]]:
    """Columns: seq, the event's columns, received_ns; ordered by (ts_ns, seq)."""
    conditions = _conditions(query.start_ns, query.end_ns, query.filter)
    if query.after is not None:
        conditions.add("(ts_ns, seq) > (?, ?)", *query.after)
    sql = (
        f"SELECT seq, {', '.join(COLUMNS)}, received_ns FROM {TABLE}{conditions.where()}"
        f" ORDER BY ts_ns, seq LIMIT ?"
    )
    return sql, [*conditions.values, query.limit]


SELECT_HORIZON = f"SELECT horizon_ns FROM {HORIZON} WHERE id = 1"
# The horizon only rises: a replica whose clock is behind never lowers it.
RAISE_HORIZON = (
    f"UPDATE {HORIZON} SET horizon_ns = ? WHERE id = 1 AND (horizon_ns IS NULL OR horizon_ns < ?)"
)


def insert_sql(received_ns: int) -> str:
    """SQLite's insert of one row per `executemany` item.

    The commit time is the same for every row of a transaction, so it is written
    into the statement (an int this code made, never input) rather than copied
    into each row's parameters.
    """
    marks = ", ".join("?" * len(COLUMNS))
    return (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, received_ns)"
        f" VALUES ({marks}, {int(received_ns)}) ON CONFLICT DO NOTHING"
    )
