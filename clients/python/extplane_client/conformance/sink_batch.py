"""The batch checks of an event sink: the batch RPC works all or nothing, or
answers UNIMPLEMENTED so that clients fall back to the unary RPC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from extplane_client.conformance._model import (
    Check,
    Finding,
    Level,
    failed,
    passed,
    unverifiable,
)
from extplane_client.conformance._probe import Answer, Probe
from extplane_client.conformance.sink_contract import (
    BATCH_LIMIT,
    NO_COUNTER,
    REPORTS_DUPLICATES,
    SinkContract,
    batch_path,
    unexpected,
)

BATCH = "batch"
"""The fact that the sink implements the batch RPC."""


def batch_checks(sink: SinkContract) -> tuple[Check, ...]:
    p = sink.prefix
    full = Level.FULL
    batch_clause = sink.batch_section

    async def batch_unimplemented_when_unsupported(probe: Probe) -> Finding:
        request = sink.wrap_batch([sink.fresh_event(probe)])
        answer = await probe.call(sink.batch, request)
        if answer.ok:
            probe.facts[BATCH] = True
            return passed("the batch RPC is implemented")
        if answer.code is grpc.StatusCode.UNIMPLEMENTED:
            probe.facts[BATCH] = False
            return passed("unary only: the batch RPC answers UNIMPLEMENTED, so adapters fall back")
        return unexpected(
            "a sink without the batch RPC must answer UNIMPLEMENTED (adapters fall back on it); "
            "one with it must accept a valid batch",
            sink.batch,
            request,
            answer,
        )

    def counts(answer: Answer[Any]) -> tuple[int, int]:
        return answer.result.accepted, answer.result.duplicates

    async def batch_accepts(probe: Probe) -> Finding:
        namespace = probe.fresh("batch")
        request, answer = await sink.record_batch(
            probe, [sink.base(namespace, probe.event_id()) for _ in range(3)]
        )
        if answer.ok and counts(answer) == (3, 0):
            return passed()
        return unexpected(
            "a batch of 3 new events must answer accepted=3 duplicates=0",
            sink.batch,
            request,
            answer,
        )

    async def batch_counts_duplicates(probe: Probe) -> Finding:
        namespace, event_id = probe.fresh("batch"), probe.event_id()
        twice = [sink.base(namespace, event_id), sink.base(namespace, event_id)]
        request, first = await sink.record_batch(probe, twice)
        _, again = await sink.record_batch(probe, twice[:1])
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
        sink.sample.edit(events[1])
        request, answer = await sink.record_batch(probe, events)
        if answer.code is not grpc.StatusCode.INVALID_ARGUMENT:
            return unexpected(
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
        if not probe.facts.get(REPORTS_DUPLICATES):
            return unverifiable(NO_COUNTER + ", and the sink does not report duplicates")
        for good_event in (events[0], events[2]):
            _, again = await sink.record(probe, good_event)
            if again.ok and again.result.duplicate:
                return failed(
                    "an event of the refused batch was stored: resent alone, it is a duplicate",
                    sent=sink.batch.sent(request),
                    got=again.describe(),
                )
        return passed("resent alone, the refused batch's valid events are new")

    async def batch_refusal_names_index(probe: Probe) -> Finding:
        events = [sink.fresh_event(probe) for _ in range(2)]
        sink.sample.edit(events[1])
        request, answer = await sink.record_batch(probe, events)
        expected = batch_path(sink.sample.field, 1)
        if (
            answer.code is grpc.StatusCode.INVALID_ARGUMENT
            and expected in answer.field_violations()
        ):
            return passed()
        return unexpected(
            f"the refusal must be INVALID_ARGUMENT with a BadRequest naming {expected!r}",
            sink.batch,
            request,
            answer,
        )

    async def batch_accepts_limit(probe: Probe) -> Finding:
        namespace = probe.fresh("batch")
        _, answer = await sink.record_batch(
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

    def batch_check(name: str, text: str, probe_: Callable[[Probe], Any]) -> Check:
        return Check(
            f"{p}.batch.{name}",
            full,
            sink.clause(text, batch_clause),
            probe_,
            applies_when=BATCH,
            not_applicable="unary-only sink (the batch RPC answers UNIMPLEMENTED)",
        )

    return (
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
    )
