"""Query and export: filters, order, a cursor that neither skips nor repeats
while records arrive, exports equal to the query, checkpoints and the key.
Both backends."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from typing import Any

import pytest
from audit_support import AUDITOR, NS_PER_S, Audit, StartAudit, event, q, timestamp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf import json_format

BASE_NS = 1_767_225_600 * NS_PER_S  # 2026-01-01T00:00:00Z


@pytest.fixture
async def audit(start_audit: StartAudit) -> Audit:
    audit = await start_audit()
    # 30 events an hour apart: actor cycles over 3, resource over 5,
    # namespace over 2, outcome over 3 (event()'s defaults).
    await audit.record(*(event(i, at_ns=BASE_NS + i * 3600 * NS_PER_S) for i in range(30)))
    return audit


def _indexes(records: list[Any]) -> list[int]:
    return [int(r.event.details["run"]) for r in records]


FILTERS: dict[str, tuple[dict[str, Any], list[int]]] = {
    "none": ({}, list(range(30))),
    "actor": ({"actor": "agent:planner-1"}, list(range(1, 30, 3))),
    "action": ({"action": "tool_invoke"}, list(range(30))),
    "resource": ({"resource": "tool/search-4"}, list(range(4, 30, 5))),
    "namespace": ({"namespace": "team-1"}, list(range(1, 30, 2))),
    "outcome": ({"outcome": "denied"}, list(range(1, 30, 3))),
    "time range": (
        {
            "start_time": timestamp(BASE_NS + 10 * 3600 * NS_PER_S),
            "end_time": timestamp(BASE_NS + 20 * 3600 * NS_PER_S),
        },
        list(range(10, 20)),
    ),
    "combined": (
        {"namespace": "team-0", "outcome": "allowed", "start_time": timestamp(BASE_NS + 1)},
        [6, 12, 18, 24],
    ),
    "no match": ({"actor": "nobody"}, []),
}


@pytest.mark.parametrize(("fields", "expected"), FILTERS.values(), ids=FILTERS.keys())
async def test_filters_select_exactly_the_matching_records(
    audit: Audit, fields: dict[str, Any], expected: list[int]
) -> None:
    ascending = await audit.list_all(page_size=4, **fields)
    descending = await audit.list_all(page_size=4, order=q.AUDIT_ORDER_DESCENDING, **fields)

    assert _indexes(ascending) == expected
    assert _indexes(descending) == expected[::-1]


async def test_page_size_defaults_to_100_and_is_capped_at_1000(start_audit: StartAudit) -> None:
    audit = await start_audit()
    for start in range(0, 1100, 1000):
        await audit.record(*(event(i) for i in range(start, min(start + 1000, 1100))))

    default = await audit.query.ListAuditEvents(q.ListAuditEventsRequest(), metadata=AUDITOR)
    capped = await audit.query.ListAuditEvents(
        q.ListAuditEventsRequest(page_size=5000), metadata=AUDITOR
    )

    assert len(default.events) == 100
    assert len(capped.events) == 1000
    assert capped.next_page_token


async def _page_while_recording(audit: Audit, order: int) -> tuple[list[int], int]:
    """Page through (3 per page), each page read while two more records are
    appended; returns the sequences seen and the head when paging began."""
    head = (await audit.service.running.store.chain_head()).sequence  # type: ignore[union-attr]
    seen: list[int] = []
    token = ""
    for n in range(1000, 1200, 2):
        page, _ = await asyncio.gather(
            audit.query.ListAuditEvents(
                q.ListAuditEventsRequest(page_size=3, order=order, page_token=token),
                metadata=AUDITOR,
            ),
            audit.record(event(n), event(n + 1)),
        )
        seen.extend(r.sequence for r in page.events)
        token = page.next_page_token
        if not token:
            break
    return seen, head


async def test_ascending_pages_neither_skip_nor_repeat_while_records_arrive(
    audit: Audit,
) -> None:
    seen, head = await _page_while_recording(audit, q.AUDIT_ORDER_ASCENDING)

    assert seen == list(range(1, len(seen) + 1))
    assert len(seen) > head


async def test_descending_pages_neither_skip_nor_repeat_while_records_arrive(
    audit: Audit,
) -> None:
    seen, head = await _page_while_recording(audit, q.AUDIT_ORDER_DESCENDING)

    top = seen[0]
    assert top >= head
    assert seen == list(range(top, 0, -1))


async def _export(audit: Audit, **fields: Any) -> tuple[str, bytes]:
    chunks = [
        chunk
        async for chunk in audit.query.ExportAuditEvents(
            q.ExportAuditEventsRequest(**fields), metadata=AUDITOR
        )
    ]
    assert chunks
    types = {chunk.content_type for chunk in chunks}
    assert len(types) == 1
    return types.pop(), b"".join(chunk.data for chunk in chunks)


EXPORTED_FILTERS = {
    "all": {},
    "actor, descending": {"actor": "agent:planner-2", "order": q.AUDIT_ORDER_DESCENDING},
    "time range": FILTERS["time range"][0],
    "no match": {"actor": "nobody"},
}


@pytest.mark.parametrize("fields", EXPORTED_FILTERS.values(), ids=EXPORTED_FILTERS.keys())
async def test_jsonl_export_is_the_query_record_for_record(
    audit: Audit, fields: dict[str, Any]
) -> None:
    listed = await audit.list_all(**fields)

    media_type, body = await _export(audit, format=q.AUDIT_EXPORT_FORMAT_JSONL, **fields)

    assert media_type == "application/x-ndjson"
    lines = body.decode().splitlines()
    expected = [
        json_format.MessageToDict(r, always_print_fields_with_no_presence=True) for r in listed
    ]
    assert [json.loads(line) for line in lines] == expected
    parsed = [json_format.ParseDict(json.loads(line), q.AuditRecord()) for line in lines]
    assert parsed == listed


@pytest.mark.parametrize("fields", EXPORTED_FILTERS.values(), ids=EXPORTED_FILTERS.keys())
async def test_csv_export_is_the_query_record_for_record(
    audit: Audit, fields: dict[str, Any]
) -> None:
    listed = await audit.list_all(**fields)

    media_type, body = await _export(audit, format=q.AUDIT_EXPORT_FORMAT_CSV, **fields)

    assert media_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(body.decode(), newline="")))
    assert [
        {
            **row,
            "details": json.loads(row["details"]),
        }
        for row in rows
    ] == [
        {
            "sequence": str(r.sequence),
            "timestamp": r.event.timestamp.ToJsonString(),
            "action": r.event.action,
            "actor": r.event.actor,
            "resource": r.event.resource,
            "namespace": r.event.namespace,
            "outcome": r.event.outcome,
            "event_id": r.event.event_id,
            "details": dict(r.event.details),
            "receive_time": r.receive_time.ToJsonString(),
            "hash": r.hash,
            "previous_hash": r.previous_hash,
        }
        for r in listed
    ]
    assert body.startswith(b"sequence,timestamp,action,actor,")


async def test_a_large_export_streams_in_chunks_and_quotes_csv(start_audit: StartAudit) -> None:
    audit = await start_audit()
    awkward = {"note": 'a, "quoted"\nvalue', "pad": "x" * 200}
    for start in range(0, 1500, 500):
        await audit.record(*(event(i, details=awkward) for i in range(start, start + 500)))

    chunks = [
        chunk
        async for chunk in audit.query.ExportAuditEvents(
            q.ExportAuditEventsRequest(format=q.AUDIT_EXPORT_FORMAT_CSV), metadata=AUDITOR
        )
    ]

    assert len(chunks) > 3
    rows = list(csv.DictReader(io.StringIO(b"".join(c.data for c in chunks).decode(), newline="")))
    assert len(rows) == 1500
    assert all(json.loads(row["details"]) == awkward for row in rows)
    assert [int(row["sequence"]) for row in rows] == list(range(1, 1501))


async def test_checkpoints_page_oldest_first_and_the_key_verifies_them(
    start_audit: StartAudit,
) -> None:
    audit = await start_audit()
    for start in range(0, 25, 5):
        await audit.record(*(event(i) for i in range(start, start + 5)))
        await audit.checkpoint()

    listed: list[Any] = []
    token = ""
    while True:
        page = await audit.query.ListAuditCheckpoints(
            q.ListAuditCheckpointsRequest(page_size=2, page_token=token), metadata=AUDITOR
        )
        listed.extend(page.checkpoints)
        token = page.next_page_token
        if not token:
            break
    later = await audit.query.ListAuditCheckpoints(
        q.ListAuditCheckpointsRequest(from_sequence=11), metadata=AUDITOR
    )
    key = await audit.query.GetAuditPublicKey(q.GetAuditPublicKeyRequest(), metadata=AUDITOR)

    assert [c.sequence for c in listed] == [5, 10, 15, 20, 25]
    assert [c.sequence for c in later.checkpoints] == [15, 20, 25]
    public = serialization.load_pem_public_key(key.public_key_pem.encode())
    assert isinstance(public, Ed25519PublicKey)
    assert key.algorithm == "Ed25519"
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key.key_id == hashlib.sha256(raw).hexdigest()
    records = {r.sequence: r for r in await audit.list_all()}
    for checkpoint in listed:
        assert checkpoint.key_id == key.key_id
        assert checkpoint.hash == records[checkpoint.sequence].hash


async def test_csv_cells_a_spreadsheet_would_run_are_written_as_text(
    start_audit: StartAudit,
) -> None:
    # (Tabs and carriage returns, which spreadsheets also run, never reach the log:
    # ingest refuses unprintable text.)
    formulas = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)"]
    audit = await start_audit()
    await audit.record(
        *(event(i, actor=text, event_id=text) for i, text in enumerate(formulas)),
        event(9, actor="plain", resource="tool/-inside-is-fine", namespace="@team"),
    )

    _, body = await _export(audit, format=q.AUDIT_EXPORT_FORMAT_CSV)
    _, jsonl = await _export(audit)

    rows = list(csv.DictReader(io.StringIO(body.decode(), newline="")))
    assert [row["actor"] for row in rows[:-1]] == [f"'{text}" for text in formulas]
    assert [row["event_id"] for row in rows[:-1]] == [f"'{text}" for text in formulas]
    assert (rows[-1]["resource"], rows[-1]["namespace"]) == ("tool/-inside-is-fine", "'@team")
    # The exact export keeps every value as stored.
    actors = [json.loads(line)["event"]["actor"] for line in jsonl.decode().splitlines()]
    assert actors == [*formulas, "plain"]


async def test_a_page_of_large_records_stays_under_the_message_limit(
    start_audit: StartAudit,
) -> None:
    """A thousand-record page of large records would outgrow gRPC's 4 MiB; the page
    is cut by bytes instead, and paging still reaches every record exactly once."""
    audit = await start_audit(max_details_bytes=500_000)
    big = {"blob": "x" * 400_000}
    for start in range(0, 24, 4):
        await audit.record(*(event(i, details=big) for i in range(start, start + 4)))

    first = await audit.query.ListAuditEvents(
        q.ListAuditEventsRequest(page_size=1000), metadata=AUDITOR
    )
    everything = await audit.list_all(page_size=1000)

    assert 0 < len(first.events) < 24
    assert first.ByteSize() < 4 * 1024 * 1024
    assert first.next_page_token
    assert [r.sequence for r in everything] == list(range(1, 25))
