"""The typed-client examples in docs/metering.md and docs/audit.md work as documented."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from extplane_protos.orloj.extensions.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    metering_pb2,
    metering_pb2_grpc,
)
from tests.query_suite import BILLING_TOKEN, COMPLIANCE_TOKEN, QuerySuite

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _example(doc: str, function: str) -> Callable[..., Any]:
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / doc).read_text(), flags=re.DOTALL)
    [example] = [block for block in blocks if f"async def {function}(" in block]
    namespace: dict[str, object] = {"__name__": "docs_example"}
    exec(compile(example, doc, "exec"), namespace)
    found = namespace[function]
    assert callable(found)
    return found


def _metering_event(at: datetime, model: str, namespace: str) -> metering_pb2.MeteringEvent:
    event = metering_pb2.MeteringEvent(
        namespace=namespace, agent="writer", model=model, tokens_in=1_000_000, tokens_out=500_000
    )
    event.timestamp.FromDatetime(at)
    return event


async def test_the_metering_example_prices_yesterday_by_model(
    suite: QuerySuite, capsys: pytest.CaptureFixture[str]
) -> None:
    cost_by_model = _example("metering.md", "cost_by_model")
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = day - timedelta(hours=12)
    events = [
        _metering_event(yesterday, "gpt-4o", "team-a"),
        _metering_event(yesterday, "gpt-x", "team-a"),
        _metering_event(yesterday, "gpt-x", "team-b"),  # another namespace
        _metering_event(day + timedelta(seconds=1), "gpt-4o", "team-a"),  # today
    ]
    async with grpc.aio.insecure_channel(suite.metering) as channel:
        await metering_pb2_grpc.MeteringSinkStub(channel).RecordMeteringBatch(
            metering_pb2.RecordMeteringBatchRequest(events=events), timeout=10
        )

    costs = await cost_by_model(suite.metering, BILLING_TOKEN)

    # The test rate card: gpt-x 2.50 in / 10 out per million, every other model 1 / 2.
    assert costs == {"gpt-4o": "2 EUR", "gpt-x": "7.5 EUR"}
    assert capsys.readouterr().out.startswith("writer 1000000 ")  # today's gpt-4o event


async def test_the_audit_example_lists_exports_and_verifies(
    suite: QuerySuite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    denied_then_verified = _example("audit.md", "denied_then_verified")
    events = []
    for i in range(6):
        event = audit_pb2.AuditEvent(
            action="policy_deny", actor=f"agent-{i}", resource="tool/x", namespace="prod",
            outcome="denied" if i % 2 else "allowed",
        )  # fmt: skip
        event.timestamp.GetCurrentTime()
        events.append(event)
    async with grpc.aio.insecure_channel(suite.audit) as channel:
        await audit_pb2_grpc.AuditSinkStub(channel).RecordAuditBatch(
            audit_pb2.RecordAuditBatchRequest(events=events), timeout=10
        )
    export = tmp_path / "denied.jsonl"

    intact = await denied_then_verified(suite.audit, COMPLIANCE_TOKEN, str(export))

    assert intact is True
    printed = capsys.readouterr().out.splitlines()
    assert printed[:3] == [
        "6 agent-5 policy_deny",
        "4 agent-3 policy_deny",
        "2 agent-1 policy_deny",
    ]
    assert printed[3].endswith(" checkpoints, key " + printed[3].rsplit(" ", 1)[1])
    exported = [json.loads(line) for line in export.read_text().splitlines()]
    assert [r["sequence"] for r in exported] == ["2", "4", "6"]
