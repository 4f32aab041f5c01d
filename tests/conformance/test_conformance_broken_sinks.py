"""The kit against MeteringSinks written without extplane's server code: a correct
one passes everything, and each broken one fails on the check meant for its fault
(and on nothing else the fault does not touch)."""

from __future__ import annotations

import time

from extplane_client.conformance import Level, Options, Verdict, exit_status, run_conformance
from tests.conformance.reference import MemoryMeteringSink, serve_metering
from tests.loopback import dead_address

FULL = Level.FULL


async def test_a_correct_third_party_sink_passes_every_check_at_full_level() -> None:
    sink = MemoryMeteringSink()
    async with serve_metering(sink) as address:
        report = await run_conformance(
            "metering", address, options=Options(level=FULL, counter=sink.count)
        )
    assert [r.check.name for r in report.results if r.verdict is not Verdict.PASS] == []
    assert report.conformant
    assert exit_status(report) == 0


async def test_accepting_negative_tokens_fails_the_negative_count_checks() -> None:
    sink = MemoryMeteringSink(accepts_negative=True)
    async with serve_metering(sink) as address:
        report = await run_conformance(
            "metering", address, options=Options(level=FULL, counter=sink.count)
        )
    assert set(report.names(Verdict.FAIL)) == {
        "metering.refuses.negative_tokens_in",
        "metering.refuses.negative_tokens_out",
        "metering.refuses.negative_tool_calls",
        "metering.refuses.negative_duration_ms",
        # These three send a negative tokens_in as their malformed sample.
        "metering.refusal_names_field",
        "metering.batch.all_or_nothing",
        "metering.batch.refusal_names_index",
    }
    caught = report.of("metering.refuses.negative_tokens_in").finding
    assert "tokens_in: -1" in caught.sent
    assert caught.got.startswith("OK")
    assert exit_status(report) == 1


async def test_a_sink_that_double_counts_a_retry_fails_counted_once_given_a_counter() -> None:
    sink = MemoryMeteringSink(double_counts=True)
    async with serve_metering(sink) as address:
        report = await run_conformance(
            "metering", address, options=Options(level=FULL, counter=sink.count)
        )
    assert report.names(Verdict.FAIL) == ["metering.idempotency.counted_once"]
    assert "stored 2 times" in report.of("metering.idempotency.counted_once").finding.note


async def test_without_a_counter_double_counting_is_unverifiable_never_passed() -> None:
    sink = MemoryMeteringSink(double_counts=True)
    async with serve_metering(sink) as address:
        report = await run_conformance("metering", address, options=Options(level=FULL))
    assert report.names(Verdict.FAIL) == []
    assert report.names(Verdict.UNVERIFIABLE) == ["metering.idempotency.counted_once"]
    assert not report.conformant
    assert exit_status(report) == 4


async def test_internal_for_the_batch_rpc_fails_the_fallback_check_and_only_it() -> None:
    sink = MemoryMeteringSink(batch_internal=True)
    async with serve_metering(sink) as address:
        report = await run_conformance(
            "metering", address, options=Options(level=FULL, counter=sink.count)
        )
    assert report.names(Verdict.FAIL) == ["metering.batch.unimplemented_when_unsupported"]
    assert "INTERNAL" in report.of("metering.batch.unimplemented_when_unsupported").finding.got
    # The batch clauses are moot once the batch RPC failed: reported once, not six times.
    assert all(
        report.of(name).verdict is Verdict.SKIP
        for name in report.names(Verdict.SKIP)
        if name.startswith("metering.batch.")
    )
    assert len(report.names(Verdict.SKIP)) == 5


async def test_a_sink_that_hangs_fails_answers_in_time_and_the_run_stays_bounded() -> None:
    deadline = 0.3
    async with serve_metering(MemoryMeteringSink(hangs=True)) as address:
        began = time.monotonic()
        report = await run_conformance(
            "metering", address, options=Options(level=FULL, deadline_s=deadline)
        )
        elapsed = time.monotonic() - began
    assert report.names(Verdict.FAIL) == ["metering.answers_in_time"]
    assert "DEADLINE_EXCEEDED" in report.of("metering.answers_in_time").finding.got
    assert len(report.names(Verdict.SKIP)) == len(report.results) - 1
    assert elapsed < deadline + 2.0


async def test_nothing_listening_is_one_failure_and_a_quick_run() -> None:
    began = time.monotonic()
    report = await run_conformance(
        "metering", dead_address(), options=Options(level=FULL, deadline_s=0.3)
    )
    assert report.names(Verdict.FAIL) == ["metering.answers_in_time"]
    assert "UNAVAILABLE" in report.of("metering.answers_in_time").finding.got
    assert time.monotonic() - began < 2.0


async def test_a_failing_counter_makes_its_checks_unverifiable_not_failed() -> None:
    async def broken_counter(namespace: str) -> int:
        raise ConnectionError("the query service is down")

    async with serve_metering(MemoryMeteringSink()) as address:
        report = await run_conformance(
            "metering", address, options=Options(level=FULL, counter=broken_counter)
        )
    assert report.names(Verdict.FAIL) == []
    assert report.names(Verdict.UNVERIFIABLE) == [
        "metering.idempotency.counted_once",
        "metering.idempotency.empty_id_not_deduplicated",
        "metering.batch.all_or_nothing",
    ]
    assert "the query service is down" in report.of("metering.batch.all_or_nothing").finding.note
