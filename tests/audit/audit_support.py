"""Helpers of the audit tests: event builders, a started service on a real gRPC
server, direct edits of its database (the tamperer's view), error readers."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc.error_details_pb2 import BadRequest
from grpc_status import rpc_status
from prometheus_client import CollectorRegistry

from extplane.audit.service import AuditService
from extplane.storage import postgres_sql
from extplane_protos.orloj.extensions.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    audit_query_pb2,
    audit_query_pb2_grpc,
)

NS_PER_S = 1_000_000_000
AUDITOR_TOKEN = "auditor-token-0123456789"
BILLING_TOKEN = "billing-token-0123456789"
WRITER_TOKEN = "ingest-token-0123456789"
AUTH = {
    "tokens": [
        {"name": "compliance", "token": AUDITOR_TOKEN, "roles": ["audit.reader"]},
        {"name": "billing", "token": BILLING_TOKEN, "roles": ["metering.reader"]},
        {"name": "ingest-a", "token": WRITER_TOKEN, "roles": ["audit.writer"]},
    ],
    # These tests write without credentials; the writer checks have tests of their own.
    "allow_unauthenticated_ingest": True,
}
AUDITOR = (("authorization", f"Bearer {AUDITOR_TOKEN}"),)

Event = audit_pb2.AuditEvent
q = audit_query_pb2


def timestamp(value_ns: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(value_ns)
    return stamp


class WallClock:
    """ns since the epoch; real time plus whatever offset a test adds."""

    def __init__(self) -> None:
        self.offset_ns = 0

    def __call__(self) -> int:
        return time.time_ns() + self.offset_ns

    def advance(self, seconds: float) -> None:
        self.offset_ns += int(seconds * NS_PER_S)


def event(index: int = 0, *, at_ns: int | None = None, **fields: Any) -> Event:
    """A valid event; `fields` override its defaults."""
    values: dict[str, Any] = {
        "action": "tool_invoke",
        "actor": f"agent:planner-{index % 3}",
        "resource": f"tool/search-{index % 5}",
        "namespace": f"team-{index % 2}",
        "outcome": ("allowed", "denied", "error")[index % 3],
        "details": {"run": str(index), "tool": "web_search"},
        "event_id": f"evt-{index:06d}",
    }
    values.update(fields)
    built = Event(**values)
    built.timestamp.CopyFrom(timestamp(at_ns if at_ns is not None else time.time_ns()))
    return built


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """field -> description of the BadRequest detail a refusal carries."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, f"no rich status on {error.code()}: {error.details()}"
    found: dict[str, str] = {}
    for detail in status.details:
        bad = BadRequest()
        if detail.Unpack(bad):
            found.update({v.field: v.description for v in bad.field_violations})
    return found


@dataclass
class Audit:
    """A started audit service on a real server, and stubs on a real channel."""

    service: AuditService
    address: str
    channel: grpc.aio.Channel
    registry: CollectorRegistry
    database_url: str
    clock: WallClock

    @property
    def sink(self) -> audit_pb2_grpc.AuditSinkStub:
        return audit_pb2_grpc.AuditSinkStub(self.channel)

    @property
    def query(self) -> audit_query_pb2_grpc.AuditQueryServiceStub:
        return audit_query_pb2_grpc.AuditQueryServiceStub(self.channel)

    async def record(self, *events: Event) -> audit_pb2.RecordAuditBatchResponse:
        response: audit_pb2.RecordAuditBatchResponse = await self.sink.RecordAuditBatch(
            audit_pb2.RecordAuditBatchRequest(events=events), timeout=30
        )
        return response

    async def verify(self, from_sequence: int = 0, to_sequence: int = 0) -> Any:
        return await self.query.VerifyAuditLog(
            q.VerifyAuditLogRequest(from_sequence=from_sequence, to_sequence=to_sequence),
            metadata=AUDITOR,
            timeout=60,
        )

    async def checkpoint(self) -> None:
        """Sign the head now (what the timer or the record count would do)."""
        running = self.service.running
        assert running is not None
        await running.checkpointer.checkpoint()

    async def list_all(self, **request: Any) -> list[Any]:
        records: list[Any] = []
        token = ""
        while True:
            page = await self.query.ListAuditEvents(
                q.ListAuditEventsRequest(page_token=token, **request), metadata=AUDITOR
            )
            records.extend(page.events)
            token = page.next_page_token
            if not token:
                return records

    def editor(self) -> DatabaseEditor:
        return DatabaseEditor(self.database_url)


class DatabaseEditor:
    """Edits the service's database behind its back, as an intruder would.

    SQL is written with `?` placeholders; on PostgreSQL they are numbered.
    """

    def __init__(self, database_url: str) -> None:
        self._url = database_url

    @property
    def is_postgres(self) -> bool:
        return self._url.startswith("postgresql://")

    async def execute(self, *statements: tuple[str, Sequence[Any]]) -> None:
        """Run the statements in one transaction."""
        if self.is_postgres:
            conn = await asyncpg.connect(self._url)
            try:
                async with conn.transaction():
                    for sql, params in statements:
                        await conn.execute(postgres_sql(sql), *params)
            finally:
                await conn.close()
            return
        path = Path(self._url.removeprefix("sqlite:"))
        db = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            db.execute("BEGIN IMMEDIATE")
            for sql, params in statements:
                db.execute(sql, params)
            db.execute("COMMIT")
        finally:
            db.close()

    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if self.is_postgres:
            conn = await asyncpg.connect(self._url)
            try:
                return [tuple(row) for row in await conn.fetch(postgres_sql(sql), *params)]
            finally:
                await conn.close()
        db = sqlite3.connect(Path(self._url.removeprefix("sqlite:")), timeout=30)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()


StartAudit = Callable[..., Awaitable[Audit]]
