"""The suite as a user runs it (`extplane up`), on loopback ephemeral ports, with a
bearer token for both query roles and some metering and audit data in it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from extplane_protos.orloj.extensions.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    metering_pb2,
    metering_pb2_grpc,
)
from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli

TOKEN = "attack-reader-0123456789"
AUTHORIZATION = f"Bearer {TOKEN}"
# Seeds the data; the attacker holds only the reader roles.
WRITER_TOKEN = "attack-writer-0123456789"
WRITER = (("authorization", f"Bearer {WRITER_TOKEN}"),)
TOKENS = json.dumps(
    [
        {"name": "attacker", "token": TOKEN, "roles": ["metering.reader", "audit.reader"]},
        {"name": "seeder", "token": WRITER_TOKEN, "roles": ["metering.writer", "audit.writer"]},
    ]
)
GRPC_SERVICES = ("capabilities", "metering", "audit")
SEEDED_EVENTS = 120
# Checkpoints every 10 records, so the checkpoint routes have pages to list.
CHECKPOINT_EVERY = 10
_NAMESPACES = ("team-a", "team-b")
_MODELS = ("gpt-x", "small-model")


@contextmanager
def live_suite(data: Path) -> Iterator[RunningCli]:
    env = ephemeral_env(
        data,
        {
            "EXTPLANE_AUTH__TOKENS": TOKENS,
            "EXTPLANE_AUDIT__CHECKPOINT_EVERY_RECORDS": str(CHECKPOINT_EVERY),
            "EXTPLANE_LOGGING__LEVEL": "WARNING",
        },
    )
    running = start_cli(["up"], env, {"gateway", *GRPC_SERVICES})
    try:
        seed(running)
        yield running
    finally:
        if running.process.poll() is None:
            running.terminate()


def _at(seconds_ago: int) -> Timestamp:
    return Timestamp(seconds=int(time.time()) - seconds_ago)


def seed(running: RunningCli) -> None:
    """SEEDED_EVENTS metering events and audit records over the last few hours."""
    metering = [
        metering_pb2.MeteringEvent(
            timestamp=_at(60 * i),
            namespace=_NAMESPACES[i % 2],
            task=f"task-{i % 7}",
            agent=f"agent-{i % 3}",
            model=_MODELS[i % 2],
            tokens_in=100 * i,
            tokens_out=10 * i,
            tool_calls=i % 4,
            duration_ms=25 * i,
            event_id=f"seed-{i}",
        )
        for i in range(SEEDED_EVENTS)
    ]
    audit = [
        audit_pb2.AuditEvent(
            timestamp=_at(60 * i),
            action=("tool_invoke", "policy_deny", "task_create")[i % 3],
            actor=f"agent-{i % 3}",
            resource=f"tool/search-{i % 5}",
            namespace=_NAMESPACES[i % 2],
            outcome=("allowed", "denied", "error")[i % 3],
            details={"reason": f"seeded {i}", "formula": "=1+2" if i % 10 == 0 else "plain"},
            event_id=f"seed-{i}",
        )
        for i in range(SEEDED_EVENTS)
    ]
    with grpc.insecure_channel(running.grpc_target("metering")) as channel:
        stored = metering_pb2_grpc.MeteringSinkStub(channel).RecordMeteringBatch(
            metering_pb2.RecordMeteringBatchRequest(events=metering), metadata=WRITER, timeout=30
        )
        assert stored.accepted == SEEDED_EVENTS
    with grpc.insecure_channel(running.grpc_target("audit")) as channel:
        recorded = audit_pb2_grpc.AuditSinkStub(channel).RecordAuditBatch(
            audit_pb2.RecordAuditBatchRequest(events=audit), metadata=WRITER, timeout=30
        )
        assert recorded.accepted == SEEDED_EVENTS
