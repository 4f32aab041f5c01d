"""The conformance kit against the TypeScript unary-only MeteringSink example
(clients/typescript/examples/metering-sink.ts): it passes `seed`, and `full`
names exactly the clauses it does not meet; and against the TypeScript
capability provider, as configured and misconfigured."""

from __future__ import annotations

import asyncio

from extplane_client.conformance import (
    Counter,
    Level,
    Options,
    Verdict,
    exit_status,
    render_text,
    run_conformance,
)
from tests.polyglot.test_typescript_metering_sink import NodeSink, typescript_sink
from tests.polyglot.test_typescript_provider import PROVIDER_ARGS, _start_provider

QUIET_S = 0.05
FULL = Options(level=Level.FULL)


def stdout_counter(sink: NodeSink) -> Counter:
    """The example prints one JSON line per event it is sent, saying whether it was a
    duplicate: the counter an implementer in another language can hand the kit."""

    async def count(namespace: str) -> int:
        # Its lines arrive through a pipe: wait until they stop arriving.
        seen = -1
        while seen != len(sink.lines):
            seen = len(sink.lines)
            await asyncio.sleep(QUIET_S)
        return sum(
            1 for line in sink.lines if line["namespace"] == namespace and not line["duplicate"]
        )

    return count


async def test_the_unary_only_typescript_sink_passes_seed(node: str) -> None:
    async with typescript_sink(node) as served:
        report = await run_conformance("metering", served.address)
    # Connect serves no grpc.health.v1: a recommendation, not a requirement.
    assert report.names(Verdict.FAIL) == ["metering.health"], render_text(report)
    assert report.conformant
    assert exit_status(report) == 0


async def test_at_full_level_it_reports_exactly_the_clauses_it_misses(node: str) -> None:
    async with typescript_sink(node) as served:
        options = Options(level=Level.FULL, counter=stdout_counter(served))
        report = await run_conformance("metering", served.address, options=options)
    assert report.names(Verdict.FAIL, required=True) == [
        "metering.refuses.missing_timestamp",
        "metering.refuses.empty_namespace",
        "metering.refuses.long_event_id",
        # It refuses with INVALID_ARGUMENT, but names the field only in its message.
        "metering.refusal_names_field",
        # It deduplicates by event_id alone, across namespaces.
        "metering.idempotency.per_namespace",
    ], render_text(report)
    # Unary only, as designed: the batch RPC answers UNIMPLEMENTED, its clauses do not apply.
    assert report.of("metering.batch.unimplemented_when_unsupported").verdict is Verdict.PASS
    assert report.names(Verdict.SKIP) == [
        "metering.batch.accepts",
        "metering.batch.counts_duplicates",
        "metering.batch.all_or_nothing",
        "metering.batch.refusal_names_index",
        "metering.batch.accepts_1000",
    ]
    assert report.of("metering.idempotency.counted_once").verdict is Verdict.PASS
    assert exit_status(report) == 1


async def test_the_typescript_capability_provider_passes_and_a_misconfigured_one_fails(
    node: str,
) -> None:
    good = await _start_provider(node, *PROVIDER_ARGS)
    try:
        report = await run_conformance("capabilities", good.address, options=FULL)
    finally:
        await good.stop()
    # `billing` carries no provider prefix; both are recommendations only.
    assert report.names(Verdict.FAIL) == ["capabilities.health", "capabilities.keys_prefixed"]
    assert exit_status(report) == 0

    replacing = await _start_provider(
        node, "--feature", "metering=false", "--meta", "extplane.version=9.9.9"
    )
    try:
        report = await run_conformance("capabilities", replacing.address, options=FULL)
    finally:
        await replacing.stop()
    assert report.names(Verdict.FAIL, required=True) == [
        "capabilities.no_core_features",
        "capabilities.no_reserved_metadata",
    ]
    assert exit_status(report) == 1
