"""One sink fed from plain threads and from asyncio tasks at once."""

from __future__ import annotations

import asyncio
import threading
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
)

THREADS = 6
PER_THREAD = 250
TASKS = 20
PER_TASK = 50


async def test_threads_and_tasks_record_into_one_sink() -> None:
    log = SinkLog()
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=replace(FAST, max_batch=200))
        start = threading.Barrier(THREADS + 1)

        def produce(thread_index: int) -> None:
            start.wait()
            for index in range(PER_THREAD):
                sink.record(metering_event(index, agent=f"thread-{thread_index}"))

        async def produce_async(task_index: int) -> None:
            for index in range(PER_TASK):
                sink.record(metering_event(index, agent=f"task-{task_index}"))
                if index % 10 == 0:
                    await asyncio.sleep(0)  # let the other tasks interleave

        threads = [threading.Thread(target=produce, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        start.wait()
        await asyncio.gather(*(produce_async(i) for i in range(TASKS)))
        for thread in threads:
            await asyncio.to_thread(thread.join, WAIT_S)
        # flush() waits; from a coroutine it goes to a thread so the loop keeps running.
        assert await asyncio.to_thread(sink.flush, WAIT_S)
        assert await asyncio.to_thread(sink.close, WAIT_S)
        stats = sink.stats()

    total = THREADS * PER_THREAD + TASKS * PER_TASK
    assert stats.delivered == total
    assert stats.overflowed == stats.dropped == stats.rejected == 0
    assert log.count() == total
    assert log.each_once()
    assert len(set(log.ids())) == total
    produced = {(event.agent, event.task) for event in log.stored}
    expected = {(f"thread-{t}", f"task-{i}") for t in range(THREADS) for i in range(PER_THREAD)}
    expected |= {(f"task-{t}", f"task-{i}") for t in range(TASKS) for i in range(PER_TASK)}
    assert produced == expected


async def test_record_from_a_coroutine_does_not_hold_up_the_loop() -> None:
    # The sink hangs; a coroutine records anyway and the loop keeps running other tasks.
    log = SinkLog()
    log.gate.clear()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    with serve_audit(log) as address:
        sink = GrpcAuditSink(address, options=replace(FAST, capacity=500))
        ticking = asyncio.create_task(ticker())
        try:
            for index in range(600):
                sink.record(audit_event(index))
                if index % 100 == 0:
                    await asyncio.sleep(0)
            stats = sink.stats()
        finally:
            ticking.cancel()
            log.gate.set()
            await asyncio.to_thread(sink.close, WAIT_S)

    assert ticks > 0
    assert stats.overflowed == 100
    assert stats.queued == 500
    assert log.count() == 500


def test_threads_racing_for_the_last_slots_never_pass_the_bound() -> None:
    log = SinkLog()
    log.gate.clear()
    capacity = 100
    with serve_metering(log) as address:
        sink = GrpcMeteringSink(address, options=replace(FAST, capacity=capacity))
        start = threading.Barrier(8)

        def produce() -> None:
            start.wait()
            for index in range(100):
                sink.record(metering_event(index))

        threads = [threading.Thread(target=produce) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT_S)
        held = sink.stats()
        log.gate.set()
        assert sink.close(WAIT_S)
        stats = sink.stats()

    assert held.queued == capacity
    assert held.overflowed == 800 - capacity
    assert stats.delivered == capacity
    assert log.count() == capacity
