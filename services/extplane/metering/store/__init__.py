"""The store interface of the metering service, and the values it speaks in.

Two implementations stand behind it: `SqliteMeteringStore` (the default, a
file in the data directory) and `PostgresMeteringStore` (several replicas may
share one database). Both keep one table of events, deduplicated by
(namespace, event_id) through a unique index, and answer the same queries;
`tests/metering` runs the same tests against both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol

from extplane.metering.event_rows import EventRow, StoredRow

Dimension = Literal["namespace", "task", "agent", "model"]
DIMENSIONS: tuple[Dimension, ...] = ("namespace", "task", "agent", "model")


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """What one submitted request changed.

    `accepted` rows were stored now; `duplicates` had an (namespace, event_id)
    already stored (earlier, or earlier in the same transaction); `expired`
    were older than the retention horizon and were acknowledged without being
    stored (they would only be pruned). `skipped` holds the positions of the
    duplicate and expired rows in the submitted list.
    """

    accepted: int
    duplicates: int = 0
    expired: int = 0
    skipped: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Equality filters; an empty value matches any."""

    namespace: str = ""
    task: str = ""
    agent: str = ""
    model: str = ""

    def terms(self) -> list[tuple[Dimension, str]]:
        values = (self.namespace, self.task, self.agent, self.model)
        return [(name, value) for name, value in zip(DIMENSIONS, values, strict=True) if value]


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """Sums over [start_ns, end_ns), per window (None: the whole range) and group.

    The store always splits by model as well, so cost can be priced per model;
    it returns at most `max_rows` rows, plus one to tell that there were more.
    """

    start_ns: int
    end_ns: int
    window_ns: int | None
    group_by: tuple[Dimension, ...]
    filter: EventFilter
    max_rows: int


class UsageRow(NamedTuple):
    window_start_ns: int  # the range's start when the query has no window
    group: tuple[str, ...]  # values of `group_by`, in its order
    model: str
    events: int
    tokens_in: int
    tokens_out: int
    tool_calls: int
    duration_ms: int


@dataclass(frozen=True, slots=True)
class EventsQuery:
    """A page of events in (timestamp, storage order), after the position `after`."""

    start_ns: int | None
    end_ns: int | None
    filter: EventFilter
    after: tuple[int, int] | None  # (timestamp_ns, seq) of the last event already seen
    limit: int


class MeteringStore(Protocol):
    @property
    def description(self) -> str:
        """Where the events are, for logs (never a password)."""
        ...

    async def open(self) -> None:
        """Connect and bring the schema to this code's version."""
        ...

    async def close(self) -> None:
        """Safe without `open()` and safe twice."""
        ...

    async def ingest(self, requests: Sequence[Sequence[EventRow]]) -> list[IngestOutcome]:
        """Store the rows of several requests in one transaction; one outcome per
        request. Returns only once the transaction is durably committed."""
        ...

    async def raise_horizon(self, horizon_ns: int) -> None:
        """From now on, rows older than `horizon_ns` are expired, not stored (it only
        rises; it is the database's, shared by every replica)."""
        ...

    async def prune(self, before_ns: int, *, chunk: int = 10_000) -> int:
        """Raise the horizon to `before_ns` and delete every event older; returns the count.

        Deletes in transactions of at most `chunk` events, so ingest goes on meanwhile.
        """
        ...

    async def usage(self, query: UsageQuery) -> list[UsageRow]: ...

    async def list_events(self, query: EventsQuery) -> list[StoredRow]: ...
