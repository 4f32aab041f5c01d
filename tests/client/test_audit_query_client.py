"""AuditQueryClient against the real audit service, over real gRPC."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import itertools
import json
import sqlite3
import struct
import time
from collections.abc import Sequence

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from extplane_client import (
    AuditCheckpoint,
    AuditQueryClient,
    AuditQueryError,
    AuditRecord,
)
from extplane_protos.orloj.extensions.v1 import audit_pb2, audit_pb2_grpc
from tests.query_suite import BILLING_TOKEN, COMPLIANCE_TOKEN, QuerySuite


def _events(count: int) -> list[audit_pb2.AuditEvent]:
    events = []
    for i in range(count):
        event = audit_pb2.AuditEvent(
            action="tool_invoke" if i % 2 else "policy_deny",
            actor=f"agent-{i % 3}",
            resource=f"tool/search-{i}",
            namespace="prod",
            outcome="allowed" if i % 2 else "denied",
            details={"i": str(i), "note": 'quote " and, comma'},
            event_id=f"evt-{i}",
        )
        event.timestamp.FromNanoseconds(time.time_ns() - (count - i) * 1000)
        events.append(event)
    return events


async def _record(suite: QuerySuite, count: int) -> list[audit_pb2.AuditEvent]:
    events = _events(count)
    async with grpc.aio.insecure_channel(suite.audit) as channel:
        await audit_pb2_grpc.AuditSinkStub(channel).RecordAuditBatch(
            audit_pb2.RecordAuditBatchRequest(events=events), timeout=10
        )
    return events


async def _checkpoints(client: AuditQueryClient, at_least: int) -> list[AuditCheckpoint]:
    """The checkpoints, once the service has signed `at_least` (it signs in the background)."""
    async with asyncio.timeout(30):
        while True:
            found = [c async for c in client.iter_audit_checkpoints(page_size=2)]
            if len(found) >= at_least:
                return found
            await asyncio.sleep(0.05)


async def test_records_page_filter_and_iterate_in_either_order(suite: QuerySuite) -> None:
    sent = await _record(suite, 25)

    async with AuditQueryClient(suite.audit, token=COMPLIANCE_TOKEN) as client:
        first = await client.list_audit_events(page_size=4)
        every = [r async for r in client.iter_audit_events(page_size=4)]
        newest_first = [r async for r in client.iter_audit_events(order="descending", page_size=3)]
        denied = [r async for r in client.iter_audit_events(actor="agent-1", outcome="denied")]

    assert [r.sequence for r in first.records] == [1, 2, 3, 4]
    assert first.next_page_token
    assert isinstance(every[0], AuditRecord)
    assert [r.event for r in every] == sent  # nanosecond timestamps included
    assert [r.sequence for r in every] == list(range(1, 26))
    assert all(r.previous_hash == p.hash for p, r in itertools.pairwise(every))
    assert [r.sequence for r in newest_first] == list(range(25, 0, -1))
    assert [int(r.event.details["i"]) for r in denied] == [i for i in range(25) if i % 6 == 4]
    assert every[0].receive_time.timestamp() == pytest.approx(every[0].receive_time_ns / 1e9)


async def test_the_export_streams_exactly_the_records_listed(suite: QuerySuite) -> None:
    await _record(suite, 40)

    async with AuditQueryClient(suite.audit, token=COMPLIANCE_TOKEN) as client:
        listed = [r async for r in client.iter_audit_events(outcome="denied")]
        jsonl = b"".join([c async for c in client.export_audit_events(outcome="denied")])
        buffer = io.BytesIO()
        written = await client.export_audit_events_to(
            buffer, format="csv", outcome="denied", order="descending"
        )

    lines = [json.loads(line) for line in jsonl.decode().splitlines()]
    assert [int(line["sequence"]) for line in lines] == [r.sequence for r in listed]
    assert [line["hash"] for line in lines] == [r.hash for r in listed]
    assert written == len(buffer.getvalue())
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue().decode())))
    assert [int(r["sequence"]) for r in rows] == [r.sequence for r in reversed(listed)]
    assert all(json.loads(r["details"])["note"] == 'quote " and, comma' for r in rows)


async def test_an_export_that_is_refused_raises_while_iterating(suite: QuerySuite) -> None:
    async with AuditQueryClient(suite.audit, token=BILLING_TOKEN) as client:
        with pytest.raises(AuditQueryError) as refused:
            async for _ in client.export_audit_events():
                pass
        with pytest.raises(AuditQueryError) as bad_range:
            await client.verify_audit_log(from_sequence=-1)

    assert refused.value.code is grpc.StatusCode.PERMISSION_DENIED
    assert bad_range.value.code in (
        grpc.StatusCode.PERMISSION_DENIED,  # the role is checked first
        grpc.StatusCode.INVALID_ARGUMENT,
    )


async def test_an_export_left_early_does_not_hang_the_client(suite: QuerySuite) -> None:
    await _record(suite, 10)
    async with AuditQueryClient(suite.audit, token=COMPLIANCE_TOKEN) as client:
        chunks = client.export_audit_events()
        first = await anext(chunks)
        await chunks.aclose()
        verdict = await client.verify_audit_log()
    assert json.loads(first.splitlines()[0])["sequence"] == "1"
    assert verdict.intact


async def test_verify_gives_a_typed_verdict_and_names_the_first_tampered_record(
    suite: QuerySuite,
) -> None:
    await _record(suite, 12)
    async with AuditQueryClient(suite.audit, token=COMPLIANCE_TOKEN) as client:
        intact = await client.verify_audit_log()
        part = await client.verify_audit_log(3, 9)
        database = sqlite3.connect(suite.settings.data_dir / "audit.db")
        with database:
            database.execute("UPDATE audit_records SET actor = 'mallory' WHERE sequence = 7")
        database.close()
        tampered = await client.verify_audit_log()

    assert intact.intact
    assert (intact.from_sequence, intact.to_sequence, intact.records_verified) == (1, 12, 12)
    assert intact.first_problem is None
    assert intact.head_hash
    # The walk starts at the nearest anchor at or before 3: a checkpoint, or the genesis.
    assert part.from_sequence <= 3
    assert part.to_sequence == 9
    assert not tampered.intact
    assert tampered.first_problem is not None
    assert (tampered.first_problem.kind, tampered.first_problem.sequence) == ("MODIFIED", 7)
    assert tampered.to_sequence == 6


async def test_checkpoints_verify_under_the_published_key(suite: QuerySuite) -> None:
    await _record(suite, 12)
    async with AuditQueryClient(suite.audit, token=COMPLIANCE_TOKEN) as client:
        key = await client.get_audit_public_key()
        checkpoints = await _checkpoints(client, at_least=1)
        page = await client.list_audit_checkpoints(checkpoints[-1].sequence, page_size=1)
        records = {r.sequence: r async for r in client.iter_audit_events()}

    public = serialization.load_pem_public_key(key.public_key_pem.encode())
    assert isinstance(public, Ed25519PublicKey)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert key.algorithm == "Ed25519"
    assert key.key_id == hashlib.sha256(raw).hexdigest()
    assert [c.sequence for c in page.checkpoints] == [checkpoints[-1].sequence]
    _verify(public, checkpoints, records)


def _verify(
    public: Ed25519PublicKey,
    checkpoints: Sequence[AuditCheckpoint],
    records: dict[int, AuditRecord],
) -> None:
    # docs/audit.md: the signature covers domain || u64 sequence || hash || u64 create_time_ns.
    for checkpoint in checkpoints:
        assert checkpoint.hash == records[checkpoint.sequence].hash
        payload = b"extplane.audit.checkpoint.v1\x00" + struct.pack(
            ">Q32sQ", checkpoint.sequence, bytes.fromhex(checkpoint.hash), checkpoint.create_time_ns
        )
        public.verify(checkpoint.signature, payload)  # raises InvalidSignature when forged
        assert checkpoint.create_time.tzinfo is not None
