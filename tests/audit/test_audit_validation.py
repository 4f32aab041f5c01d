"""Bad input is INVALID_ARGUMENT naming the field, and nothing of it is stored;
query calls need a token with the audit.reader role."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from audit_support import AUDITOR, BILLING_TOKEN, NS_PER_S, Audit, StartAudit, event, q, violations
from google.protobuf.timestamp_pb2 import Timestamp

from extplane.audit.validation import MAX_CHARS, OUTCOMES
from extplane.runtime import bounds
from extplane_protos.orloj.extensions.v1 import audit_pb2

DAY_NS = 86_400 * NS_PER_S


@pytest.fixture
async def audit(start_sqlite_audit: StartAudit) -> Audit:
    return await start_sqlite_audit()


def _bad_timestamp(seconds: int, nanos: int = 0) -> audit_pb2.AuditEvent:
    built = event(1)
    built.timestamp.CopyFrom(Timestamp(seconds=seconds, nanos=nanos))
    return built


def _without_timestamp() -> audit_pb2.AuditEvent:
    built = event(1)
    built.ClearField("timestamp")
    return built


BAD_EVENTS: dict[str, tuple[audit_pb2.AuditEvent, str, str]] = {
    "no timestamp": (_without_timestamp(), "timestamp", "required"),
    "nanos out of range": (_bad_timestamp(1_767_225_600, 1_500_000_000), "timestamp", "nanos"),
    "before 2000": (_bad_timestamp(915_148_800), "timestamp", "earliest"),
    "far future": (
        event(1, at_ns=4_102_444_800 * NS_PER_S),
        "timestamp",
        "future",
    ),
    "no action": (event(1, action=""), "action", "required"),
    "no actor": (event(1, actor=""), "actor", "required"),
    "long action": (event(1, action="a" * 129), "action", "at most 128"),
    "long actor": (event(1, actor="a" * 257), "actor", "at most 256"),
    "long resource": (event(1, resource="r" * 513), "resource", "at most 512"),
    "long namespace": (event(1, namespace="n" * 257), "namespace", "at most 256"),
    "long event_id": (event(1, event_id="e" * 129), "event_id", "at most 128"),
    "control character": (event(1, actor="agent\nroot"), "actor", "printable"),
    "format character": (event(1, resource="tool/\u202ex"), "resource", "printable"),
    "unknown outcome": (event(1, outcome="maybe"), "outcome", "allowed, denied, error"),
    "no outcome": (event(1, outcome=""), "outcome", "allowed, denied, error"),
    "too many details": (
        event(1, details={f"k{i}": "v" for i in range(65)}),
        "details",
        "at most 64 entries",
    ),
    "details too large": (event(1, details={"blob": "x" * 8200}), "details", "bytes"),
    "empty details key": (event(1, details={"": "v"}), "details", "empty"),
    "long details key": (event(1, details={"k" * 129: "v"}), "details", "128"),
    "unprintable details key": (event(1, details={"a\tb": "v"}), "details", "printable"),
}


@pytest.mark.parametrize(("bad", "field", "says"), BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
async def test_a_bad_event_is_refused_naming_its_field(
    audit: Audit, bad: audit_pb2.AuditEvent, field: str, says: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as unary:
        await audit.sink.RecordAudit(audit_pb2.RecordAuditRequest(event=bad))
    with pytest.raises(grpc.aio.AioRpcError) as batch:
        await audit.record(event(2), event(3), event(4), bad)

    assert unary.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert says in violations(unary.value)[f"event.{field}"]
    assert batch.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert says in violations(batch.value)[f"events[3].{field}"]
    assert (await audit.service.running.store.chain_head()).sequence == 0  # type: ignore[union-attr]


async def test_a_request_without_an_event_is_refused(audit: Audit) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await audit.sink.RecordAudit(audit_pb2.RecordAuditRequest())

    assert violations(refused.value) == {"event": "required"}


async def test_an_empty_or_oversized_batch_is_refused(audit: Audit) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await audit.record()
    with pytest.raises(grpc.aio.AioRpcError) as oversized:
        await audit.record(*(event(i) for i in range(1001)))

    assert "at least one" in violations(empty.value)["events"]
    assert "at most 1000" in violations(oversized.value)["events"]


async def test_every_bad_event_of_a_batch_is_named_and_none_stored(audit: Audit) -> None:
    batch = [event(i) for i in range(10)]
    batch[2].outcome = "maybe"
    batch[7].actor = ""
    batch[7].action = ""

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await audit.record(*batch)

    assert set(violations(refused.value)) == {
        "events[2].outcome",
        "events[7].action",
        "events[7].actor",
    }
    assert await audit.list_all() == []
    rejected = audit.registry.get_sample_value("extplane_audit_events_rejected_total")
    assert rejected == 10


async def test_a_refusal_lists_at_most_twenty_violations(audit: Audit) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await audit.record(*(event(i, outcome="maybe") for i in range(50)))

    assert len(violations(refused.value)) == 20
    assert "and 49 more" in (refused.value.details() or "")


async def test_limits_are_inclusive_and_values_are_free_text(audit: Audit) -> None:
    edge = event(
        1,
        action="a" * 128,
        actor="b" * 256,
        resource="r" * 512,
        namespace="n" * 256,
        event_id="e" * 128,
        details={**{f"k{i}": "v" for i in range(63)}, "note": "line one\nline two\ttab 日本"},
    )

    response = await audit.sink.RecordAudit(audit_pb2.RecordAuditRequest(event=edge))

    assert response.sequence == 1
    (stored,) = await audit.list_all()
    assert stored.event.details["note"] == "line one\nline two\ttab 日本"
    assert stored.event.resource == "r" * 512


async def test_the_future_bound_follows_the_configured_skew(
    start_sqlite_audit: StartAudit,
) -> None:
    audit = await start_sqlite_audit(max_future_skew_s=2 * 86_400)
    ahead = event(1, at_ns=audit.clock() + DAY_NS)

    response = await audit.sink.RecordAudit(audit_pb2.RecordAuditRequest(event=ahead))

    assert response.sequence == 1


async def test_the_earliest_time_counts_fractions_of_a_second(
    start_sqlite_audit: StartAudit,
) -> None:
    earliest = datetime(2020, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)
    audit = await start_sqlite_audit(min_timestamp=earliest)
    earliest_ns = 1_577_836_800 * NS_PER_S + NS_PER_S // 2

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await audit.sink.RecordAudit(
            audit_pb2.RecordAuditRequest(event=event(1, at_ns=earliest_ns - NS_PER_S // 4))
        )
    assert violations(refused.value) == {
        "event.timestamp": "before the earliest accepted time (2020-01-01T00:00:00.500Z)"
    }
    accepted = await audit.sink.RecordAudit(
        audit_pb2.RecordAuditRequest(event=event(2, at_ns=earliest_ns))
    )
    assert accepted.sequence == 1


QUERY_CALLS: dict[str, tuple[str, Any]] = {
    "list": ("ListAuditEvents", q.ListAuditEventsRequest()),
    "verify": ("VerifyAuditLog", q.VerifyAuditLogRequest()),
    "checkpoints": ("ListAuditCheckpoints", q.ListAuditCheckpointsRequest()),
    "public key": ("GetAuditPublicKey", q.GetAuditPublicKeyRequest()),
    "export": ("ExportAuditEvents", q.ExportAuditEventsRequest()),
}


async def _call(audit: Audit, method: str, request: Any, metadata: Any) -> Any:
    call = getattr(audit.query, method)(request, metadata=metadata, timeout=10)
    if method == "ExportAuditEvents":
        return [chunk async for chunk in call]
    return await call


@pytest.mark.parametrize(("method", "request_"), QUERY_CALLS.values(), ids=QUERY_CALLS.keys())
async def test_query_calls_need_a_token_with_the_reader_role(
    audit: Audit, method: str, request_: Any
) -> None:
    refusals = {
        (): grpc.StatusCode.UNAUTHENTICATED,
        (("authorization", "Bearer not-a-token-we-know"),): grpc.StatusCode.UNAUTHENTICATED,
        (("authorization", f"Basic {BILLING_TOKEN}"),): grpc.StatusCode.UNAUTHENTICATED,
        (("authorization", f"Bearer {BILLING_TOKEN}"),): grpc.StatusCode.PERMISSION_DENIED,
    }
    for metadata, code in refusals.items():
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _call(audit, method, request_, metadata)
        assert refused.value.code() == code, metadata

    assert await _call(audit, method, request_, AUDITOR) is not None


def _ts(seconds: int, nanos: int = 0) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


BAD_LISTS: dict[str, tuple[dict[str, Any], str]] = {
    "negative page size": ({"page_size": -1}, "page_size"),
    "garbage token": ({"page_token": "%%%not-base64"}, "page_token"),
    "foreign token": ({"page_token": "eyJ2IjoyfQ"}, "page_token"),
    "long token": ({"page_token": "A" * 600}, "page_token"),
    "unknown outcome": ({"outcome": "maybe"}, "outcome"),
    "long actor": ({"actor": "a" * 257}, "actor"),
    "NUL in actor": ({"actor": "agent\x00x"}, "actor"),
    "control in namespace": ({"namespace": "team\x1b[0m"}, "namespace"),
    "end before start": ({"start_time": _ts(2000), "end_time": _ts(1000)}, "end_time"),
    "bad nanos": ({"start_time": _ts(1000, -1)}, "start_time"),
    "past 9999": ({"end_time": _ts(253402300800)}, "end_time"),
    "empty range past 2262": (
        {"start_time": _ts(253402300799), "end_time": _ts(253402300798)},
        "end_time",
    ),
    "unknown order": ({"order": 7}, "order"),
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"end_time": _ts(-5)}, 0),  # before the epoch: before every record
        ({"start_time": _ts(-62135596800)}, 3),  # from year 1
        ({"start_time": _ts(9_300_000_000)}, 0),  # from 2264, past what stores hold
        ({"end_time": _ts(253402300799, 999_999_999)}, 3),  # until 9999
    ],
    ids=["before the epoch", "from year 1", "from 2264", "until 9999"],
)
async def test_any_valid_timestamp_bounds_a_list_or_export(
    audit: Audit, fields: dict[str, Any], expected: int
) -> None:
    """Never a refusal, a crash or a store error for a valid Timestamp: outside what
    the stores hold (1677..2262) it bounds the range as the nearest time they hold."""
    await audit.record(event(1), event(2), event(3))

    listed = await audit.list_all(**fields)
    chunks = await _call(audit, "ExportAuditEvents", q.ExportAuditEventsRequest(**fields), AUDITOR)

    assert len(listed) == expected
    assert b"".join(chunk.data for chunk in chunks).count(b"\n") == expected


@pytest.mark.parametrize(("fields", "field"), BAD_LISTS.values(), ids=BAD_LISTS.keys())
async def test_a_bad_list_request_is_refused_naming_its_field(
    audit: Audit, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await audit.query.ListAuditEvents(q.ListAuditEventsRequest(**fields), metadata=AUDITOR)
    export_fields = {k: v for k, v in fields.items() if k not in ("page_size", "page_token")}
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(refused.value)
    if export_fields:
        with pytest.raises(grpc.aio.AioRpcError) as export:
            await _call(
                audit, "ExportAuditEvents", q.ExportAuditEventsRequest(**export_fields), AUDITOR
            )
        assert field in violations(export.value)


async def test_a_token_is_refused_with_another_filter_or_order(audit: Audit) -> None:
    await audit.record(*(event(i) for i in range(9)))
    first = await audit.query.ListAuditEvents(
        q.ListAuditEventsRequest(page_size=2, actor="agent:planner-0"), metadata=AUDITOR
    )
    assert first.next_page_token

    for changed in (
        {"actor": "agent:planner-1"},
        {"actor": "agent:planner-0", "order": q.AUDIT_ORDER_DESCENDING},
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await audit.query.ListAuditEvents(
                q.ListAuditEventsRequest(page_token=first.next_page_token, **changed),
                metadata=AUDITOR,
            )
        assert "another filter" in violations(refused.value)["page_token"]
    with pytest.raises(grpc.aio.AioRpcError) as crossed:
        await audit.query.ListAuditCheckpoints(
            q.ListAuditCheckpointsRequest(page_token=first.next_page_token), metadata=AUDITOR
        )
    assert "page_token" in violations(crossed.value)


async def test_an_unknown_export_format_is_refused(audit: Audit) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _call(audit, "ExportAuditEvents", q.ExportAuditEventsRequest(format=9), AUDITOR)

    assert "format" in violations(refused.value)


BAD_RANGES: dict[str, tuple[dict[str, int], str]] = {
    "negative from": ({"from_sequence": -1}, "from_sequence"),
    "negative to": ({"to_sequence": -1}, "to_sequence"),
    "to below from": ({"from_sequence": 3, "to_sequence": 2}, "to_sequence"),
    "from beyond the head": ({"from_sequence": 9}, "from_sequence"),
}


@pytest.mark.parametrize(("fields", "field"), BAD_RANGES.values(), ids=BAD_RANGES.keys())
async def test_a_bad_verify_range_is_refused_naming_its_field(
    audit: Audit, fields: dict[str, int], field: str
) -> None:
    await audit.record(*(event(i) for i in range(5)))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await audit.verify(**fields)

    assert field in violations(refused.value)


async def test_a_negative_checkpoint_start_is_refused(audit: Audit) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await audit.query.ListAuditCheckpoints(
            q.ListAuditCheckpointsRequest(from_sequence=-1), metadata=AUDITOR
        )

    assert "from_sequence" in violations(refused.value)


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "line\nbreak", "\x9b"])
async def test_control_characters_in_a_filter_are_refused_alike_on_both_stores(
    start_audit: StartAudit, text: str
) -> None:
    audit = await start_audit()
    for name in ("actor", "action", "resource", "namespace"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await audit.query.ListAuditEvents(
                q.ListAuditEventsRequest(**{name: text}), metadata=AUDITOR
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violations(refused.value) == {name: "must not hold control characters"}


async def test_other_text_no_record_can_hold_simply_matches_nothing(
    start_audit: StartAudit,
) -> None:
    """A separator or an unassigned code point is never stored (ingest takes printable
    text only) but is no control character: the filter is valid and finds nothing."""
    audit = await start_audit()
    await audit.record(event(1))

    for text in ("\u2028", "\U000f87f7", "zero\u200bwidth"):
        assert await audit.list_all(actor=text) == []


def test_the_query_filters_declare_the_limits_ingest_applies() -> None:
    """A filter may be as long as the stored field may be, and no longer: the bounds
    the protos declare (and the OpenAPI states) are the ingest rules."""
    for message in (q.ListAuditEventsRequest, q.ExportAuditEventsRequest):
        for name, limit in MAX_CHARS.items():
            if name in message.DESCRIPTOR.fields_by_name:
                declared = bounds.declared_bounds(message.DESCRIPTOR.fields_by_name[name])
                assert declared is not None
                assert declared.max_length == limit, (message.DESCRIPTOR.name, name)
        outcome = bounds.declared_bounds(message.DESCRIPTOR.fields_by_name["outcome"])
        assert outcome is not None
        assert set(outcome.one_of) - {""} == set(OUTCOMES)
