"""The SQL both stores run, with `?` placeholders (`extplane.storage.sql`).

Column names come from fixed tuples, never from requests; values are always
bound parameters.
"""

from __future__ import annotations

from extplane.metering.event_rows import COLUMNS
from extplane.metering.store import EventFilter, EventsQuery, UsageQuery
from extplane.metering.store.schema import TABLE


class _Params:
    def __init__(self) -> None:
        self.values: list[object] = []

    def add(self, value: object) -> str:
        self.values.append(value)
        return "?"


def _where(
    params: _Params, start_ns: int | None, end_ns: int | None, event_filter: EventFilter
) -> list[str]:
    terms: list[str] = []
    if start_ns is not None:
        terms.append(f"ts_ns >= {params.add(start_ns)}")
    if end_ns is not None:
        terms.append(f"ts_ns < {params.add(end_ns)}")
    for column, value in event_filter.terms():
        terms.append(f"{column} = {params.add(value)}")
    return terms


def usage_sql(query: UsageQuery) -> tuple[str, list[object]]:
    """GROUP BY window, the group's dimensions and the model (cost is per model).

    Columns: window start (0 without a window), each of `group_by`, model,
    count, the four sums.
    """
    params = _Params()
    if query.window_ns is None:
        window = "0"  # one window: the caller knows where it starts
    else:
        # Windows align to the epoch, i.e. to UTC; timestamps are never negative.
        window = f"(ts_ns / {params.add(query.window_ns)}) * {params.add(query.window_ns)}"
    dimensions = [*query.group_by, "model"] if "model" not in query.group_by else [*query.group_by]
    where = _where(params, query.start_ns, query.end_ns, query.filter)
    keys = ", ".join(["w", *dimensions])
    select = ", ".join([f"{window} AS w", *query.group_by, "model"])
    limit = params.add(query.max_rows + 1)
    sql = (
        f"SELECT {select}, COUNT(*), SUM(tokens_in), SUM(tokens_out), SUM(tool_calls),"
        f" SUM(duration_ms) FROM {TABLE} WHERE {' AND '.join(where)}"
        f" GROUP BY {keys} LIMIT {limit}"
    )
    return sql, params.values


def events_sql(query: EventsQuery) -> tuple[str, list[object]]:
    """Columns: seq, the event's columns, received_ns; ordered by (ts_ns, seq)."""
    params = _Params()
    where = _where(params, query.start_ns, query.end_ns, query.filter)
    if query.after is not None:
        ts, seq = query.after
        where.append(f"(ts_ns, seq) > ({params.add(ts)}, {params.add(seq)})")
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    limit = params.add(query.limit)
    sql = (
        f"SELECT seq, {', '.join(COLUMNS)}, received_ns FROM {TABLE}{condition}"
        f" ORDER BY ts_ns, seq LIMIT {limit}"
    )
    return sql, params.values


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
