"""A unary-only sink gets up to `unary_concurrency` calls at once, with every guarantee kept.

The sinks here serve only the seed's unary RPC (their batch RPC answers
UNIMPLEMENTED). Each test first lets the adapter find that out with one event, so
what follows goes through the unary path.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import grpc
import pytest

from extplane_client import GrpcAuditSink, GrpcMeteringSink
from extplane_client.delivery.sink import QueueingSink
from tests.adapter.sinks import (
    FAST,
    PATIENT,
    WAIT_S,
    SinkLog,
    audit_event,
    metering_event,
    serve_audit,
    serve_metering,
    wait_until,
)


def switch_to_unary(sink: QueueingSink[Any], event: Any) -> None:
    sink.record(event)
    assert sink.flush(WAIT_S)
    assert sink.stats().batch_mode is False


@pytest.mark.parametrize("bound", [4, 16])
def test_the_calls_in_flight_reach_the_bound_and_never_pass_it(bound: int) -> None:
    log = SinkLog()
    with serve_metering(log, batch=False, workers=2 * bound + 4) as address:
        sink = GrpcMeteringSink(address, options=replace(PATIENT, unary_concurrency=bound))
        try:
            switch_to_unary(sink, metering_event(1000))
            # The sink holds the first calls until `bound` of them are in at once.
            with log.lock:
                log.hold_for = bound
            for index in range(300):
                sink.record(metering_event(index))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert log.max_in_flight == bound
    assert stats.delivered == 301
    assert stats.retries == 0
    assert log.unary_calls == 301
    assert log.each_once()


@pytest.mark.parametrize("kind", ["metering", "audit"])
def test_close_delivers_everything_queued_through_concurrent_calls(kind: str) -> None:
    log = SinkLog()
    total = 2_500  # several takes of max_batch (1000) from the queue
    serve = serve_metering if kind == "metering" else serve_audit
    event = metering_event if kind == "metering" else audit_event
    sink_type = GrpcMeteringSink if kind == "metering" else GrpcAuditSink
    with serve(log, batch=False, workers=20) as address:
        sink: QueueingSink[Any] = sink_type(address, options=PATIENT)
        switch_to_unary(sink, event(total))
        for index in range(total):
            sink.record(event(index))
        closed = sink.close(WAIT_S)
        stats = sink.stats()

    assert closed is True
    assert stats.delivered == total + 1
    assert stats.queued == stats.abandoned == stats.rejected == stats.retries == 0
    assert stats.accepted == total + 1
    assert log.count() == total + 1
    assert log.each_once()


def test_permanent_and_transient_failures_under_concurrency_are_counted_exactly() -> None:
    # Per event: index % 10 == 3 is refused for good; index % 10 == 5 fails twice
    # with UNAVAILABLE, then is taken; index 7 makes the sink fail (INTERNAL) always.
    failed: Counter[str] = Counter()

    def refuse(event: Any) -> grpc.StatusCode | None:
        index = int(event.task.removeprefix("task-"))
        if index == 7:
            return grpc.StatusCode.INTERNAL
        if index % 10 == 3:
            return grpc.StatusCode.INVALID_ARGUMENT
        if index % 10 == 5 and failed[event.task] < 2:
            failed[event.task] += 1
            return grpc.StatusCode.UNAVAILABLE
        return None

    log = SinkLog(refuse=refuse)
    options = replace(PATIENT, server_error_attempts=3, initial_backoff=0.001, max_backoff=0.01)
    with serve_metering(log, batch=False, workers=20) as address:
        sink = GrpcMeteringSink(address, options=options)
        try:
            switch_to_unary(sink, metering_event(0))
            for index in range(1, 200):
                sink.record(metering_event(index))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    permanent = [i for i in range(200) if i % 10 == 3]
    transient = [i for i in range(200) if i % 10 == 5]
    assert stats.rejected == len(permanent) + 1
    assert stats.delivered == 200 - len(permanent) - 1
    # Two retries per transient event, and two for the poison (three attempts).
    assert stats.retries == 2 * len(transient) + 2
    assert stats.queued == stats.oversized == stats.abandoned == 0
    stored = sorted(int(event.task.removeprefix("task-")) for event in log.stored)
    assert stored == [i for i in range(200) if i % 10 != 3 and i != 7]
    assert log.each_once()


def test_close_while_the_sink_hangs_abandons_exactly_what_was_not_delivered() -> None:
    log = SinkLog()
    bound = PATIENT.unary_concurrency
    with serve_metering(log, batch=False, workers=20) as address:
        sink = GrpcMeteringSink(address, options=PATIENT)
        try:
            switch_to_unary(sink, metering_event(0))
            log.gate.clear()
            for index in range(1, 51):
                sink.record(metering_event(index))
            assert sink.flush(0.2) is False
            wait_until(lambda: log.in_flight == bound, what=f"{bound} calls hanging in the sink")
            closed = sink.close(0.5)
            stats = sink.stats()
        finally:
            log.gate.set()
            sink.close(0)

    assert closed is False
    assert stats.delivered == 1
    assert stats.abandoned == 50
    assert stats.queued == 0
    assert stats.accepted == 51
    # Those in flight were cancelled; no more were started than the bound.
    assert log.max_in_flight == bound


def test_an_outage_under_concurrency_loses_nothing_and_doubles_nothing() -> None:
    log = SinkLog()
    with serve_audit(log, batch=False, workers=20) as address:
        sink = GrpcAuditSink(address, options=FAST)
        try:
            switch_to_unary(sink, audit_event(0))
            # The next 40 calls fail as a sink restarting would; each event retries alone.
            log.fail_next(*[grpc.StatusCode.UNAVAILABLE] * 40)
            for index in range(1, 301):
                sink.record(audit_event(index))
            assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.retries == 40
    assert stats.delivered == 301
    assert stats.rejected == 0
    assert sorted(event.resource for event in log.stored) == sorted(
        f"tool/search-{i}" for i in range(301)
    )
    assert log.each_once()
