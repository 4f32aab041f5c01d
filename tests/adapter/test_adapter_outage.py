"""The sink is down for a while, then up: nothing within the bound is lost, and
what passed the bound is counted exactly.

Nothing listens on the port at first (the worker's calls fail UNAVAILABLE and are
retried); then a server starts on that very port and the queue drains into it.
"""

from __future__ import annotations

from dataclasses import replace

from extplane_client import GrpcAuditSink, GrpcMeteringSink
from tests.adapter.sinks import (
    FAST,
    WAIT_S,
    SinkLog,
    audit_event,
    metering_event,
    serve_audit,
    serve_metering,
    wait_until,
)
from tests.loopback import unused_port

CAPACITY = 300
PAST_THE_BOUND = 75


def test_metering_events_within_the_bound_arrive_once_after_an_outage() -> None:
    port = unused_port()
    sink = GrpcMeteringSink(f"127.0.0.1:{port}", options=replace(FAST, capacity=CAPACITY))
    try:
        for index in range(CAPACITY + PAST_THE_BOUND):
            sink.record(metering_event(index))
        # The worker has found the sink down, more than once, and kept everything.
        wait_until(lambda: sink.stats().retries >= 3, what="retries against the dead port")
        down = sink.stats()

        log = SinkLog()
        with serve_metering(log, port=port):
            assert sink.flush(WAIT_S)
            up = sink.stats()
    finally:
        sink.close(WAIT_S)

    assert down.delivered == 0
    assert down.queued == CAPACITY
    assert down.overflowed == PAST_THE_BOUND
    # The first CAPACITY events were kept; each arrived exactly once.
    assert [event.task for event in log.stored] == [f"task-{i}" for i in range(CAPACITY)]
    assert log.each_once()
    assert len(set(log.ids())) == CAPACITY
    assert up.delivered == CAPACITY
    assert up.overflowed == PAST_THE_BOUND
    assert up.queued == 0
    assert up.rejected == up.dropped == up.abandoned == 0
    assert up.accepted == CAPACITY
    assert up.batch_mode


def test_audit_events_arrive_in_order_after_an_outage() -> None:
    port = unused_port()
    sink = GrpcAuditSink(f"127.0.0.1:{port}", options=replace(FAST, capacity=CAPACITY))
    try:
        for index in range(CAPACITY + PAST_THE_BOUND):
            sink.record(audit_event(index))
        wait_until(lambda: sink.stats().retries >= 3, what="retries against the dead port")

        log = SinkLog()
        with serve_audit(log, port=port):
            assert sink.flush(WAIT_S)
            stats = sink.stats()
    finally:
        sink.close(WAIT_S)

    resources = [event.resource for event in log.stored]
    assert resources == [f"tool/search-{i}" for i in range(CAPACITY)]
    assert log.each_once()
    assert stats.delivered == CAPACITY
    assert stats.overflowed == PAST_THE_BOUND


def test_room_freed_by_delivery_takes_new_events_again() -> None:
    log = SinkLog()
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=replace(FAST, capacity=10))
        try:
            for round_index in range(5):
                for index in range(10):
                    sink.record(metering_event(round_index * 10 + index))
                assert sink.flush(WAIT_S)
            stats = sink.stats()
        finally:
            sink.close(WAIT_S)

    assert stats.delivered == 50
    assert stats.overflowed == 0
    assert log.count() == 50
    assert log.each_once()


def test_a_sink_that_goes_down_mid_stream_loses_nothing_within_the_bound() -> None:
    port = unused_port()
    log = SinkLog()
    sink = GrpcMeteringSink(f"127.0.0.1:{port}", options=replace(FAST, capacity=CAPACITY))
    try:
        with serve_metering(log, port=port):
            for index in range(100):
                sink.record(metering_event(index))
            assert sink.flush(WAIT_S)
        # Down again: these wait, and are retried, until it is back.
        for index in range(100, 200):
            sink.record(metering_event(index))
        wait_until(lambda: sink.stats().retries >= 2, what="retries while the sink is down")
        assert sink.stats().queued == 100
        with serve_metering(log, port=port):
            assert sink.flush(WAIT_S)
    finally:
        sink.close(WAIT_S)

    assert [event.task for event in log.stored] == [f"task-{i}" for i in range(200)]
    assert log.each_once()
