"""Record queries: the filter, the page, and their SQL (both dialects).

SQL is written with `?` placeholders (`extplane.storage.sql`). Pages are by
sequence: ascending pages continue after the last sequence seen, descending
ones below it. New records only ever get higher
sequences, so neither order skips or repeats a record while they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass

from extplane.audit.store.schema import RECORDS

SELECT_RECORD = (
    "SELECT sequence, timestamp_ns, receive_time_ns, coalesce(event_id, ''), action, actor,"
    f" resource, namespace, outcome, details, previous_hash, hash FROM {RECORDS}"
)


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Equalities (an empty value matches any) and a time range [start_ns, end_ns)."""

    actor: str = ""
    action: str = ""
    resource: str = ""
    namespace: str = ""
    outcome: str = ""
    start_ns: int | None = None
    end_ns: int | None = None

    def where(self) -> tuple[list[str], list[object]]:
        clauses: list[str] = []
        values: list[object] = []
        for column in ("actor", "action", "resource", "namespace", "outcome"):
            value = getattr(self, column)
            if value:
                clauses.append(f"{column} = ?")
                values.append(value)
        if self.start_ns is not None:
            clauses.append("timestamp_ns >= ?")
            values.append(self.start_ns)
        if self.end_ns is not None:
            clauses.append("timestamp_ns < ?")
            values.append(self.end_ns)
        return clauses, values


@dataclass(frozen=True, slots=True)
class RecordQuery:
    """A page: records matching `filter`, after the cursor, in sequence order.

    `after` is the last sequence already returned (ascending: the page starts
    above it; descending: below it). `through` caps the sequences considered
    (an export fixes it at its start).
    """

    filter: RecordFilter
    descending: bool
    after: int | None
    through: int | None
    limit: int

    def sql(self) -> tuple[str, list[object]]:
        clauses, values = self.filter.where()
        if self.after is not None:
            clauses.append("sequence < ?" if self.descending else "sequence > ?")
            values.append(self.after)
        if self.through is not None:
            clauses.append("sequence <= ?")
            values.append(self.through)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        order = "DESC" if self.descending else "ASC"
        values.append(self.limit)
        return f"{SELECT_RECORD}{where} ORDER BY sequence {order} LIMIT ?", values
