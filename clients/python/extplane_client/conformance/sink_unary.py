"""The unary checks of an event sink: valid shapes accepted, malformed events
refused naming the field, and `event_id` idempotency."""

from __future__ import annotations

import grpc

from extplane_client.conformance._model import (
    Check,
    Clause,
    Finding,
    Level,
    failed,
    passed,
    unverifiable,
)
from extplane_client.conformance._probe import Probe
from extplane_client.conformance.sink_contract import (
    NO_COUNTER,
    REPORTS_DUPLICATES,
    Malformed,
    Shape,
    SinkContract,
    unexpected,
)


def unary_checks(sink: SinkContract) -> tuple[Check, ...]:
    p = sink.prefix
    full = Level.FULL
    idem = sink.idempotency_section

    def accepts(shape: Shape) -> Check:
        async def probe_(probe: Probe) -> Finding:
            event = sink.fresh_event(probe)
            shape.edit(event)
            request, answer = await sink.record(probe, event)
            if answer.ok:
                return passed()
            return unexpected(
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
            event = sink.fresh_event(probe)
            bad.edit(event)
            request, answer = await sink.record(probe, None if bad.field == "event" else event)
            if answer.code is grpc.StatusCode.INVALID_ARGUMENT:
                return passed()
            return unexpected(
                f"a malformed event ({bad.field}) was not refused with INVALID_ARGUMENT",
                sink.unary,
                request,
                answer,
            )

        return Check(f"{p}.refuses.{bad.name}", Level.FULL, bad.clause, probe_)

    async def refusal_names_field(probe: Probe) -> Finding:
        event = sink.fresh_event(probe)
        sink.sample.edit(event)
        request, answer = await sink.record(probe, event)
        status, problem = answer.status_details()
        if answer.code is not grpc.StatusCode.INVALID_ARGUMENT:
            return unexpected(
                "the refusal to check is missing: not INVALID_ARGUMENT", sink.unary, request, answer
            )
        if status is None:
            return unexpected(
                problem or "no google.rpc.Status in grpc-status-details-bin",
                sink.unary,
                request,
                answer,
            )
        if sink.sample.field not in answer.field_violations():
            return unexpected(
                f"no google.rpc.BadRequest field violation naming {sink.sample.field!r}",
                sink.unary,
                request,
                answer,
            )
        return passed()

    async def retry_acknowledged(probe: Probe) -> Finding:
        event = sink.fresh_event(probe)
        request, first = await sink.record(probe, event)
        _, second = await sink.record(probe, event)
        if not (first.ok and second.ok):
            return unexpected(
                "a retry was not acknowledged", sink.unary, request, second if first.ok else first
            )
        if first.result.duplicate or not second.result.duplicate:
            return failed(
                "the first recording must answer duplicate=false, its retry duplicate=true",
                sent=f"twice: {sink.unary.sent(request)}",
                got=f"first: {first.describe()}; retry: {second.describe()}",
            )
        probe.facts[REPORTS_DUPLICATES] = True
        return passed()

    async def counted_once(probe: Probe) -> Finding:
        if probe.counter is None:
            return unverifiable(NO_COUNTER)
        event = sink.fresh_event(probe)
        request, first = await sink.record(probe, event)
        _, second = await sink.record(probe, event)
        if not (first.ok and second.ok):
            return unexpected(
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
        event = sink.fresh_event(probe)
        event.event_id = ""
        request, first = await sink.record(probe, event)
        _, second = await sink.record(probe, event)
        if not (first.ok and second.ok):
            return unexpected(
                "an event without event_id was not acknowledged",
                sink.unary,
                request,
                second if first.ok else first,
            )
        if second.result.duplicate:
            return unexpected(
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
        _, first = await sink.record(probe, first_event)
        request, second = await sink.record(probe, second_event)
        if not (first.ok and second.ok):
            return unexpected(
                "an event was not acknowledged", sink.unary, request, second if first.ok else first
            )
        if second.result.duplicate:
            return unexpected(
                "the same event_id in another namespace was called a duplicate",
                sink.unary,
                request,
                second,
            )
        return passed()

    checks = [
        *(accepts(shape) for shape in sink.shapes),
        *(refuses(bad) for bad in sink.malformed),
        Check(
            f"{p}.refusal_names_field",
            full,
            sink.clause(
                "a refusal carries a decodable google.rpc.Status whose BadRequest "
                f"names the field ({sink.sample.field})",
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
    return tuple(checks)
