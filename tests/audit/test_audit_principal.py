"""Each record keeps the principal that wrote it: the writer token's name, or
`anonymous` on an open sink, as the sink's writer check decides over the wire;
stored, listed, filterable (gRPC and CLI), and covered by the hash — an edit
of it is found. On SQLite and PostgreSQL.

Principals no token here has (a certificate subject) are written through the
service's recorder, as the sink servicer passes them down."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from audit_support import AUDITOR_TOKEN, WRITER_TOKEN, Audit, StartAudit, event, q

from extplane.audit.chain.canonical import canonical_details
from extplane.audit.chain.records import NewEvent
from extplane_protos.orloj.extensions.v1 import audit_pb2

REPO = Path(__file__).resolve().parents[2]


def written_by(index: int, principal: str) -> NewEvent:
    return NewEvent(
        f"evt-p-{index}",
        1_767_225_600_000_000_000 + index,
        "tool_invoke",
        f"agent:{index}",
        "tool/search",
        "team-a",
        "allowed",
        canonical_details({"run": str(index)}),
        principal,
    )


async def _log(start_audit: StartAudit) -> Audit:
    audit = await start_audit()
    running = audit.service.running
    assert running is not None
    await audit.record(event(1))  # over the wire, no credentials: an open sink's anonymous
    await running.recorder.record(
        [written_by(i, "token:ingest-a" if i % 2 else "cert:CN=runtime-b") for i in range(2, 8)]
    )
    await audit.sink.RecordAuditBatch(
        audit_pb2.RecordAuditBatchRequest(events=[event(8)]),
        metadata=(("authorization", f"Bearer {WRITER_TOKEN}"),),
        timeout=30,
    )
    await audit.checkpoint()
    return audit


async def test_the_principal_is_stored_listed_and_filterable(start_audit: StartAudit) -> None:
    audit = await _log(start_audit)

    everything = await audit.list_all()
    by_a = await audit.list_all(principal="token:ingest-a")
    by_b = await audit.list_all(principal="cert:CN=runtime-b", order=q.AUDIT_ORDER_DESCENDING)

    assert [(r.sequence, r.principal, r.canonical_version) for r in everything[:3]] == [
        (1, "anonymous", 2),
        (2, "cert:CN=runtime-b", 2),
        (3, "token:ingest-a", 2),
    ]
    assert (everything[-1].sequence, everything[-1].principal) == (8, "ingest-a")
    assert [r.sequence for r in await audit.list_all(principal="anonymous")] == [1]
    assert [r.sequence for r in by_a] == [3, 5, 7]
    assert [r.sequence for r in by_b] == [6, 4, 2]
    assert (await audit.verify()).intact


async def test_an_edited_principal_is_found(start_audit: StartAudit) -> None:
    audit = await _log(start_audit)
    await audit.editor().execute(
        ("UPDATE audit_records SET principal = 'token:admin' WHERE sequence = 3", [])
    )

    verdict = await audit.verify()

    assert not verdict.intact
    assert verdict.first_problem.kind == q.AUDIT_TAMPER_KIND_MODIFIED
    assert verdict.first_problem.sequence == 3
    assert "principal" in verdict.first_problem.detail


async def test_the_cli_exports_by_principal(start_sqlite_audit: StartAudit) -> None:
    audit = await _log(start_sqlite_audit)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    env["EXTPLANE_TOKEN"] = AUDITOR_TOKEN
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "extplane.cli", "audit", "export", "--principal",
        "token:ingest-a", "--address", audit.address,
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)

    assert process.returncode == 0, err.decode()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert [(line["sequence"], line["principal"]) for line in lines] == [
        ("3", "token:ingest-a"),
        ("5", "token:ingest-a"),
        ("7", "token:ingest-a"),
    ]
    assert {line["canonicalVersion"] for line in lines} == {2}
