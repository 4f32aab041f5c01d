"""The checks of an event sink (MeteringSink, AuditSink), generated from a SinkContract.

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

import grpc
from google.protobuf.message import Message

from extplane_client.conformance._model import (
    Check,
    Clause,
    Finding,
    Level,
    failed,
    passed,
    unverifiable,
)
from extplane_client.conformance._probe import Answer, Method, Probe
from extplane_client.conformance.liveness import liveness_checks

Event = Any  # a MeteringEvent or an AuditEvent: the contract's generated message
Edit = Callable[[Event], None]

BATCH_LIMIT = 1000
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


def batch_path(field: str, index: int) -> str:
    """`event.tokens_in` as the batch names it for the event at `index`."""
    return f"events[{index}]." + field.removeprefix("event").lstrip(".")


def _unexpected(
    what: str, method: Method[Any, Any], request: Message, answer: Answer[Any]
) -> Finding:
    return failed(what, sent=method.sent(request), got=answer.describe())


def sink_checks(sink: SinkContract) -> tuple[Check, ...]:
    p = sink.prefix

    def fresh_event(probe: Probe, label: str = "ns") -> Event:
        return sink.base(probe.fresh(label), probe.event_id())

    async def record(probe: Probe, event: Event | None) -> tuple[Message, Answer[Any]]:
        request = sink.wrap(event)
        return request, await probe.call(sink.unary, request)

    def good(probe: Probe) -> tuple[Method[Any, Any], Message]:
        return sink.unary, sink.wrap(fresh_event(probe))

    def accepts(shape: Shape) -> Check:
        async def probe_(probe: Probe) -> Finding:
            event = fresh_event(probe)
            shape.edit(event)
            request, answer = await record(probe, event)
            if answer.ok:
                return passed()
            return _unexpected(
                f"a valid event ({shape.what}) was not acknowledged", sink.unary, request, answer
            )

        return Check(
            f"{p}.accepts.{shape.name}",
            Level.SEED,
            Clause(
                f"the seed RPC accepts every valid event: {shape.what}",
                f"{sink.docs}#{sink.validation_section}",
            ),
            probe_,
        )

    def refuses(bad: Malformed) -> Check:
        async def probe_(probe: Probe) -> Finding:
            event = fresh_event(probe)
            bad.edit(event)
            request, answer = await record(probe, None if bad.field == "event" else event)
            if answer.code is grpc.StatusCode.INVALID_ARGUMENT:
                return passed()
            return _unexpected(
                f"a malformed event ({bad.field}) was not refused with INVALID_ARGUMENT",
                sink.unary,
                request,
                answer,
            )

        return Check(f"{p}.refuses.{bad.name}", Level.FULL, bad.clause, probe_)

    sample = sink.malformed[0]

    async def refusal_names_field(probe: Probe) -> Finding:
        event = fresh_event(probe)
        sample.edit(event)
        request, answer = await record(probe, event)
        status, problem = answer.status_details()
        if answer.code is not grpc.StatusCode.INVALID_ARGUMENT:
            return _unexpected(
                "the refusal to check is missing: not INVALID_ARGUMENT", sink.unary, request, answer
            )
        if status is None:
            return _unexpected(
                problem or "no google.rpc.Status in grpc-status-details-bin",
                sink.unary,
                request,
                answer,
            )
        if sample.field not in answer.field_violations():
            return _unexpected(
                f"no google.rpc.BadRequest field violation naming {sample.field!r}",
                sink.unary,
                request,
                answer,
            )
        return passed()

    async def retry_acknowledged(probe: Probe) -> Finding:
        event = fresh_event(probe)
        request, first = await record(probe, event)
        _, second = await record(probe, event)
        if not (first.ok and second.ok):
            return _unexpected(
                "a retry was not acknowledged", sink.unary, request, second if first.ok else first
            )
        if first.result.duplicate or not second.result.duplicate:
            return failed(
                "the first recording must answer duplicate=false, its retry duplicate=true",
                sent=f"twice: {sink.unary.sent(request)}",
                got=f"first: {first.describe()}; retry: {second.describe()}",
            )
        probe.facts["reports_duplicates"] = True
        return passed()

    async def counted_once(probe: Probe) -> Finding:
        if probe.counter is None:
            return unverifiable(NO_COUNTER)
        event = fresh_event(probe)
        request, first = await record(probe, event)
        _, second = await record(probe, event)
        if not (first.ok and second.ok):
            return _unexpected(
                "a retry was not acknowledged", sink.unary, request, second if first.ok else first
            )
        stored = await probe.count(event.namespace)
        if stored != 1:
            return failed(
                f"a retried event_id is stored {stored} times in its namespace, not once",
                sent=f"twice: {sink.unary.sent(request)}",
                got=f"the counter says {stored} stored in {event.namespace!r}",
            )
        return passed()

    async def empty_id_not_deduplicated(probe: Probe) -> Finding:
        event = fresh_event(probe)
        event.event_id = ""
        request, first = await record(probe, event)
        _, second = await record(probe, event)
        if not (first.ok and second.ok):
            return _unexpected(
                "an event without event_id was not acknowledged",
                sink.unary,
                request,
                second if first.ok else first,
            )
        if second.result.duplicate:
            return _unexpected(
                "an event with an empty event_id was called a duplicate",
                sink.unary,
                request,
                second,
            )
        if probe.counter is not None and (stored := await probe.count(event.namespace)) != 2:
            return failed(
                f"two events without event_id are stored {stored} times, not twice",
                sent=f"twice: {sink.unary.sent(request)}",
                got=f"the counter says {stored}",
            )
        return passed()

    async def ids_per_namespace(probe: Probe) -> Finding:
        event_id = probe.event_id()
        first_event, second_event = (
            sink.base(probe.fresh("a"), event_id),
            sink.base(probe.fresh("b"), event_id),
        )
        _, first = await record(probe, first_event)
        request, second = await record(probe, second_event)
        if not (first.ok and second.ok):
            return _unexpected(
                "an event was not acknowledged", sink.unary, request, second if first.ok else first
            )
        if second.result.duplicate:
            return _unexpected(
                "the same event_id in another namespace was called a duplicate",
                sink.unary,
                request,
                second,
            )
        return passed()

    async def batch_unimplemented_when_unsupported(probe: Probe) -> Finding:
        request = sink.wrap_batch([fresh_event(probe)])
        answer = await probe.call(sink.batch, request)
        if answer.ok:
            probe.facts["batch"] = True
            return passed("the batch RPC is implemented")
        if answer.code is grpc.StatusCode.UNIMPLEMENTED:
            probe.facts["batch"] = False
            return passed("unary only: the batch RPC answers UNIMPLEMENTED, so adapters fall back")
        return _unexpected(
            "a sink without the batch RPC must answer UNIMPLEMENTED (adapters fall back on it); "
            "one with it must accept a valid batch",
            sink.batch,
            request,
            answer,
        )

    async def batch(
        probe: Probe,
        events: Sequence[Event],
        timeout: float | None = None,  # noqa: ASYNC109 - sent as the gRPC deadline
    ) -> tuple[Message, Answer[Any]]:
        request = sink.wrap_batch(events)
        return request, await probe.call(sink.batch, request, timeout=timeout)

    def counts(answer: Answer[Any]) -> tuple[int, int]:
        return answer.result.accepted, answer.result.duplicates

    async def batch_accepts(probe: Probe) -> Finding:
        namespace = probe.fresh("batch")
        request, answer = await batch(
            probe, [sink.base(namespace, probe.event_id()) for _ in range(3)]
        )
        if answer.ok and counts(answer) == (3, 0):
            return passed()
        return _unexpected(
            "a batch of 3 new events must answer accepted=3 duplicates=0",
            sink.batch,
            request,
            answer,
        )

    async def batch_counts_duplicates(probe: Probe) -> Finding:
        namespace, event_id = probe.fresh("batch"), probe.event_id()
        twice = [sink.base(namespace, event_id), sink.base(namespace, event_id)]
        request, first = await batch(probe, twice)
        _, again = await batch(probe, twice[:1])
        if first.ok and again.ok and counts(first) == (1, 1) and counts(again) == (0, 1):
            return passed()
        return failed(
            "an id repeated in a batch, and a batch retried, count as duplicates",
            sent=f"{sink.batch.sent(request)}, then its first event again",
            got=f"{first.describe()}; then {again.describe()}",
        )

    async def batch_all_or_nothing(probe: Probe) -> Finding:
        namespace = probe.fresh("batch")
        events = [sink.base(namespace, probe.event_id()) for _ in range(3)]
        sample.edit(events[1])
        request, answer = await batch(probe, events)
        if answer.code is not grpc.StatusCode.INVALID_ARGUMENT:
            return _unexpected(
                "a batch holding a malformed event must be refused with INVALID_ARGUMENT",
                sink.batch,
                request,
                answer,
            )
        if probe.counter is not None:
            stored = await probe.count(namespace)
            if stored:
                return failed(
                    f"the refused batch left {stored} events stored",
                    sent=sink.batch.sent(request),
                    got=f"the counter says {stored} in {namespace!r}",
                )
            return passed()
        if not probe.facts.get("reports_duplicates"):
            return unverifiable(NO_COUNTER + ", and the sink does not report duplicates")
        for good_event in (events[0], events[2]):
            _, again = await record(probe, good_event)
            if again.ok and again.result.duplicate:
                return failed(
                    "an event of the refused batch was stored: resent alone, it is a duplicate",
                    sent=sink.batch.sent(request),
                    got=again.describe(),
                )
        return passed("resent alone, the refused batch's valid events are new")

    async def batch_refusal_names_index(probe: Probe) -> Finding:
        events = [fresh_event(probe) for _ in range(2)]
        sample.edit(events[1])
        request, answer = await batch(probe, events)
        expected = batch_path(sample.field, 1)
        if (
            answer.code is grpc.StatusCode.INVALID_ARGUMENT
            and expected in answer.field_violations()
        ):
            return passed()
        return _unexpected(
            f"the refusal must be INVALID_ARGUMENT with a BadRequest naming {expected!r}",
            sink.batch,
            request,
            answer,
        )

    async def batch_accepts_limit(probe: Probe) -> Finding:
        namespace = probe.fresh("batch")
        _, answer = await batch(
            probe,
            [sink.base(namespace, probe.event_id()) for _ in range(BATCH_LIMIT)],
            timeout=probe.deadline_s * 5,
        )
        if answer.ok and counts(answer) == (BATCH_LIMIT, 0):
            return passed(f"in {answer.seconds:.3f}s")
        return failed(
            f"a batch of {BATCH_LIMIT} new events must be accepted whole",
            sent=f"{sink.batch.name}({BATCH_LIMIT} events)",
            got=answer.describe(),
        )

    idem = sink.idempotency_section
    batch_clause = sink.batch_section
    full = Level.FULL

    def batch_check(name: str, text: str, probe_: Callable[[Probe], Any]) -> Check:
        return Check(
            f"{p}.batch.{name}",
            full,
            sink.clause(text, batch_clause),
            probe_,
            applies_when="batch",
            not_applicable="unary-only sink (the batch RPC answers UNIMPLEMENTED)",
        )

    checks = [
        *liveness_checks(p, good, sink.service),
        *(accepts(shape) for shape in sink.shapes),
        *(refuses(bad) for bad in sink.malformed),
        Check(
            f"{p}.refusal_names_field",
            full,
            sink.clause(
                "a refusal carries a decodable google.rpc.Status whose BadRequest "
                f"names the field ({sample.field})",
                sink.validation_section,
            ),
            refusal_names_field,
        ),
        Check(
            f"{p}.idempotency.retry_acknowledged",
            full,
            sink.clause("a retry of a stored event_id is acknowledged with duplicate=true", idem),
            retry_acknowledged,
        ),
        Check(
            f"{p}.idempotency.counted_once",
            full,
            sink.clause("a retried event_id is stored (counted) once", idem),
            counted_once,
        ),
        Check(
            f"{p}.idempotency.empty_id_not_deduplicated",
            full,
            sink.clause("an empty event_id disables deduplication", idem),
            empty_id_not_deduplicated,
        ),
    ]
    if sink.ids_per_namespace:
        checks.append(
            Check(
                f"{p}.idempotency.per_namespace",
                full,
                sink.clause("the same event_id in two namespaces is two events", idem),
                ids_per_namespace,
            )
        )
    checks += [
        Check(
            f"{p}.batch.unimplemented_when_unsupported",
            full,
            sink.clause(
                "the batch RPC either works or answers UNIMPLEMENTED, "
                "so clients fall back to the unary RPC",
                batch_clause,
            ),
            batch_unimplemented_when_unsupported,
        ),
        batch_check(
            "accepts", "a valid batch is stored; accepted counts the new events", batch_accepts
        ),
        batch_check(
            "counts_duplicates",
            "ids repeated within a batch or stored before count as duplicates",
            batch_counts_duplicates,
        ),
        batch_check(
            "all_or_nothing",
            "a batch with a malformed event is refused and none of it is stored",
            batch_all_or_nothing,
        ),
        batch_check(
            "refusal_names_index", "the refusal names events[i].field", batch_refusal_names_index
        ),
        batch_check(
            f"accepts_{BATCH_LIMIT}",
            f"a batch of up to {BATCH_LIMIT} events is accepted",
            batch_accepts_limit,
        ),
        *sink.extra,
    ]
    return tuple(checks)
