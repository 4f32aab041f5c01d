"""Record queries: the filter, the page, and their SQL (both dialects).

SQL is written with `?` placeholders (`extplane.storage.sql`). Pages are by
sequence: ascending pages continue after the last sequence seen, descending
ones below it. New records only ever get higher sequences, so neither order
skips or repeats a record while they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass

from extplane.audit.store.schema import RECORDS
from extplane.storage.sql import Conditions

SELECT_RECORD = (
    "SELECT sequence, timestamp_ns, receive_time_ns, coalesce(event_id, ''), action, actor,"
    f" resource, namespace, outcome, details, previous_hash, hash, principal,"
    f" canonical_version FROM {RECORDS}"
)


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Equalities (an empty value matches any) and a time range [start_ns, end_ns)."""

    actor: str = ""
    action: str = ""
    resource: str = ""
    namespace: str = ""
    outcome: str = ""
    principal: str = ""
    start_ns: int | None = None
    end_ns: int | None = None

    def conditions(self) -> Conditions:
        conditions = Conditions()
        for column in ("actor", "action", "resource", "namespace", "outcome", "principal"):
            conditions.equal(column, getattr(self, column))
        conditions.in_range("timestamp_ns", self.start_ns, self.end_ns)
        return conditions


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
        conditions = self.filter.conditions()
        if self.after is not None:
            conditions.add("sequence < ?" if self.descending else "sequence > ?", self.after)
        if self.through is not None:
            conditions.add("sequence <= ?", self.through)
        order = "DESC" if self.descending else "ASC"
        sql = f"{SELECT_RECORD}{conditions.where()} ORDER BY sequence {order} LIMIT ?"
        return sql, [*conditions.values, self.limit]
