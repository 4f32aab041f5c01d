"""An event sink's contract as data (MeteringSink, AuditSink), for sinks.py to check.

The two sinks share their clauses (valid shapes accepted, malformed events
refused naming the field, `event_id` idempotency, the batch RPC all or nothing
or UNIMPLEMENTED); what differs is data: the RPCs, a valid event, its shapes,
its malformed variants. Each generated check sends a few calls and looks at
what came back; "counted once" needs a counter and is unverifiable without one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from extplane_client.conformance._model import (
    Check,
    Clause,
    Finding,
    failed,
)
from extplane_client.conformance._probe import Answer, Method, Probe

Event = Any  # a MeteringEvent or an AuditEvent: the contract's generated message
Edit = Callable[[Event], None]

BATCH_LIMIT = 1000
REPORTS_DUPLICATES = "reports_duplicates"
"""The fact that the sink answers duplicate=true for a retry (idempotency.retry_acknowledged)."""
NO_COUNTER = "nothing to count stored events with (give a counter: a query service or a hook)"


@dataclass(frozen=True)
class Shape:
    """A valid event the seed RPC must accept: `edit` turns the base event into it."""

    name: str
    what: str
    edit: Edit


@dataclass(frozen=True)
class Malformed:
    """An event the sink must refuse: `edit` breaks a valid one; `field` is the path
    the refusal names in a unary request (`event.tokens_in`)."""

    name: str
    field: str
    edit: Edit
    clause: Clause


@dataclass(frozen=True)
class SinkContract:
    prefix: str
    service: str
    unary: Method[Any, Any]
    batch: Method[Any, Any]
    event_type: type[Message]
    base: Callable[[str, str], Event]  # (namespace, event_id) -> a valid event
    shapes: tuple[Shape, ...]
    malformed: tuple[Malformed, ...]
    docs: str  # the sink's docs page, e.g. docs/metering.md
    idempotency_section: str
    validation_section: str
    batch_section: str
    ids_per_namespace: bool  # metering: an id is unique within its namespace
    extra: tuple[Check, ...] = ()

    def wrap(self, event: Event | None) -> Message:
        request: Message = self.unary.request_type()
        if event is not None:
            request.event.CopyFrom(event)  # type: ignore[attr-defined]
        return request

    def wrap_batch(self, events: Sequence[Event]) -> Message:
        request: Message = self.batch.request_type()
        request.events.extend(events)  # type: ignore[attr-defined]
        return request

    def clause(self, text: str, section: str) -> Clause:
        return Clause(text, f"{self.docs}#{section}")

    def fresh_event(self, probe: Probe, label: str = "ns") -> Event:
        """A valid event in a namespace of its own, with a fresh event_id."""
        return self.base(probe.fresh(label), probe.event_id())

    async def record(self, probe: Probe, event: Event | None) -> tuple[Message, Answer[Any]]:
        request = self.wrap(event)
        return request, await probe.call(self.unary, request)

    async def record_batch(
        self,
        probe: Probe,
        events: Sequence[Event],
        timeout: float | None = None,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> tuple[Message, Answer[Any]]:
        request = self.wrap_batch(events)
        return request, await probe.call(self.batch, request, timeout=timeout)

    @property
    def sample(self) -> Malformed:
        """The malformed event the checks of refusals send: the first listed."""
        return self.malformed[0]


def batch_path(field: str, index: int) -> str:
    """`event.tokens_in` as the batch names it for the event at `index`."""
    return f"events[{index}]." + field.removeprefix("event").lstrip(".")


def unexpected(
    what: str, method: Method[Any, Any], request: Message, answer: Answer[Any]
) -> Finding:
    return failed(what, sent=method.sent(request), got=answer.describe())
