"""`extplane audit export`, run as a user runs it, against the real audit service."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from extplane_client import AuditQueryClient
from extplane_protos.orloj.extensions.v1 import audit_pb2, audit_pb2_grpc
from tests.e2e.cli_process import run_extplane
from tests.query_suite import BILLING_TOKEN, COMPLIANCE_TOKEN, QuerySuite

COMPLIANCE = {"EXTPLANE_TOKEN": COMPLIANCE_TOKEN}


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty directory for the exports (the suite's data is beside it)."""
    made = tmp_path / "out"
    made.mkdir()
    return made


def _listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


async def _seed(suite: QuerySuite, count: int = 30) -> int:
    """Records `count` events a millisecond apart; returns the first one's time (ns)."""
    first_ns = time.time_ns() - count * 1_000_000
    events = []
    for i in range(count):
        event = audit_pb2.AuditEvent(
            action="tool_invoke" if i % 2 else "policy_deny",
            actor=f"agent-{i % 3}",
            resource=f"tool/search-{i}",
            namespace="prod",
            outcome="allowed" if i % 2 else "denied",
            details={"i": str(i), "note": 'quote " and, comma'},
        )
        event.timestamp.FromNanoseconds(first_ns + i * 1_000_000)
        events.append(event)
    async with grpc.aio.insecure_channel(suite.audit) as channel:
        await audit_pb2_grpc.AuditSinkStub(channel).RecordAuditBatch(
            audit_pb2.RecordAuditBatchRequest(events=events), timeout=10
        )
    return first_ns


async def test_jsonl_to_standard_output_is_the_filtered_records(queries: QuerySuite) -> None:
    await _seed(queries)

    result = await run_extplane(
        "audit", "export", "--actor", "agent-1", "--outcome", "denied",
        "--address", queries.audit, env=COMPLIANCE,
    )  # fmt: skip

    assert result.code == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    async with AuditQueryClient(queries.audit, token=COMPLIANCE_TOKEN) as client:
        listed = [r async for r in client.iter_audit_events(actor="agent-1", outcome="denied")]
    assert [int(p["sequence"]) for p in printed] == [r.sequence for r in listed]
    assert [int(p["event"]["details"]["i"]) for p in printed] == [4, 10, 16, 22, 28]


async def test_csv_to_a_file_in_either_order_and_a_time_range(
    queries: QuerySuite, out_dir: Path
) -> None:
    first_ns = await _seed(queries)
    start = _rfc3339(first_ns + 10 * 1_000_000)
    end = _rfc3339(first_ns + 20 * 1_000_000)
    target = out_dir / "export.csv"

    result = await run_extplane(
        "audit", "export", "--format", "csv", "--order", "descending", "--start", start,
        "--end", end, "-o", str(target), "--address", queries.audit, env=COMPLIANCE,
    )  # fmt: skip

    assert result.code == 0, result.stderr
    assert result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(target.read_bytes().decode())))
    assert [int(r["sequence"]) for r in rows] == list(range(20, 10, -1))
    assert json.loads(rows[0]["details"]) == {"i": "19", "note": 'quote " and, comma'}
    assert _listing(out_dir) == ["export.csv"]


async def test_a_refused_export_leaves_no_file_and_exits_3(
    queries: QuerySuite, out_dir: Path
) -> None:
    await _seed(queries)
    target = out_dir / "export.jsonl"

    result = await run_extplane(
        "audit", "export", "-o", str(target), "--address", queries.audit,
        env={"EXTPLANE_TOKEN": BILLING_TOKEN},
    )  # fmt: skip

    assert result.code == 3
    [line] = result.stderr.splitlines()
    assert line.startswith(f"extplane: audit service at {queries.audit}: PERMISSION_DENIED")
    assert _listing(out_dir) == []


async def test_an_output_that_cannot_be_written_exits_1(
    queries: QuerySuite, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-dir" / "export.jsonl"

    result = await run_extplane(
        "audit", "export", "-o", str(target), "--address", queries.audit, env=COMPLIANCE
    )

    assert result.code == 1
    assert result.stderr.startswith(f"extplane: cannot write {target}: ")
    assert "Traceback" not in result.stderr


async def test_verify_and_public_key_still_answer_through_the_client(queries: QuerySuite) -> None:
    await _seed(queries, count=12)

    verified = await run_extplane("audit", "verify", "--address", queries.audit, env=COMPLIANCE)
    key = await run_extplane("audit", "public-key", "--address", queries.audit, env=COMPLIANCE)

    assert verified.code == 0, verified.stderr
    assert verified.stdout.startswith("intact: sequences 1..12 (12 records")
    assert key.code == 0
    assert key.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert "(Ed25519, active)" in key.stderr


def _rfc3339(value_ns: int) -> str:
    stamp = Timestamp()
    stamp.FromNanoseconds(value_ns)
    return stamp.ToJsonString()
