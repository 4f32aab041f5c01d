"""The real `extplane serve audit` in subprocesses: two replicas on one
PostgreSQL keep one chain; SIGKILL right after acknowledgements loses nothing."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from audit_support import AUDITOR, AUTH, event, q

from extplane_protos.orloj.extensions.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    audit_query_pb2_grpc,
)
from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli


@pytest.fixture
def processes() -> Iterator[list[RunningCli]]:
    started: list[RunningCli] = []
    yield started
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait(timeout=10)


def _env(tmp_path: Path, name: str, database_url: str) -> dict[str, str]:
    return ephemeral_env(
        tmp_path / name,
        {
            "EXTPLANE_AUDIT__PORT": "0",
            "EXTPLANE_AUDIT__DATABASE_URL": database_url,
            # Replicas share the signing key, as they would mount one Secret.
            "EXTPLANE_AUDIT__SIGNING_KEY_DIR": str(tmp_path / "audit-keys"),
            "EXTPLANE_AUDIT__CHECKPOINT_EVERY_RECORDS": "40",
            "EXTPLANE_AUTH": json.dumps(AUTH),
            "EXTPLANE_LOGGING__LEVEL": "WARNING",
        },
    )


def _serve(processes: list[RunningCli], env: dict[str, str]) -> RunningCli:
    running = start_cli(["serve", "audit"], env, {"audit"})
    processes.append(running)
    return running


async def _write(
    address: str, worker: int, batches: int, acked: dict[str, int], shared: int = 0
) -> None:
    """Send batches of 3 (unary every fourth call); record what was acknowledged."""
    async with grpc.aio.insecure_channel(address) as channel:
        sink = audit_pb2_grpc.AuditSinkStub(channel)
        for n in range(batches):
            events = [event(worker * 10_000 + n * 3 + k) for k in range(3)]
            if shared and n % 5 == 0:
                events.append(event(shared + n))  # also sent by the other replica
            if n % 4 == 3:
                for sent in events:
                    response = await sink.RecordAudit(
                        audit_pb2.RecordAuditRequest(event=sent), timeout=30
                    )
                    acked[sent.event_id] = response.sequence
            else:
                await sink.RecordAuditBatch(
                    audit_pb2.RecordAuditBatchRequest(events=events), timeout=30
                )
                acked.update({sent.event_id: 0 for sent in events})


async def _stored(address: str) -> list[q.AuditRecord]:
    async with grpc.aio.insecure_channel(address) as channel:
        query = audit_query_pb2_grpc.AuditQueryServiceStub(channel)
        records: list[q.AuditRecord] = []
        token = ""
        while True:
            page = await query.ListAuditEvents(
                q.ListAuditEventsRequest(page_size=1000, page_token=token), metadata=AUDITOR
            )
            records.extend(page.events)
            token = page.next_page_token
            if not token:
                return records


async def _verify(address: str) -> q.VerifyAuditLogResponse:
    async with grpc.aio.insecure_channel(address) as channel:
        query = audit_query_pb2_grpc.AuditQueryServiceStub(channel)
        verdict: q.VerifyAuditLogResponse = await query.VerifyAuditLog(
            q.VerifyAuditLogRequest(), metadata=AUDITOR, timeout=60
        )
        return verdict


async def test_two_replicas_on_postgres_keep_one_gap_free_chain(
    tmp_path: Path, postgres_dsn: str, processes: list[RunningCli]
) -> None:
    replicas = [_serve(processes, _env(tmp_path, name, postgres_dsn)) for name in ("a", "b")]
    addresses = [r.grpc_target("audit") for r in replicas]
    acked: dict[str, int] = {}

    await asyncio.gather(
        *(
            _write(addresses[worker % 2], worker, batches=25, acked=acked, shared=900_000)
            for worker in range(8)
        )
    )

    stored = await _stored(addresses[0])
    assert [r.sequence for r in stored] == list(range(1, len(stored) + 1))
    by_id = {r.event.event_id: r.sequence for r in stored}
    assert len(by_id) == len(stored) == len(acked)
    assert all(sequence in (0, by_id[event_id]) for event_id, sequence in acked.items())
    for running in replicas:
        assert running.terminate() == 0
    # Both signed checkpoints on stopping (and on the way); one key verifies all.
    restarted = _serve(processes, _env(tmp_path, "c", postgres_dsn))
    verdict = await _verify(restarted.grpc_target("audit"))
    assert verdict.intact, verdict
    assert verdict.records_verified == len(stored)
    assert verdict.checkpoints_verified >= 2


async def test_sigkill_right_after_acknowledgements_loses_nothing(
    tmp_path: Path, database_url: str, processes: list[RunningCli]
) -> None:
    env = _env(tmp_path, "a", database_url)
    first = _serve(processes, env)
    address = first.grpc_target("audit")
    acked: dict[str, int] = {}
    enough = asyncio.Event()

    async def writer(worker: int) -> None:
        try:
            while True:
                await _write(address, worker, batches=1, acked=acked)
                worker += 100
                if len(acked) >= 300:
                    enough.set()
        except grpc.aio.AioRpcError:
            return  # the process is gone; what was acknowledged before counts

    writers = [asyncio.create_task(writer(w)) for w in range(6)]
    await enough.wait()
    first.process.send_signal(signal.SIGKILL)
    await asyncio.gather(*writers)
    assert first.process.wait(timeout=10) == -signal.SIGKILL

    second = _serve(processes, env)
    stored = await _stored(second.grpc_target("audit"))
    by_id = {r.event.event_id: r.sequence for r in stored}
    # Every call answered OK before the connection died was committed first.
    missing = [event_id for event_id in acked if event_id not in by_id]
    assert not missing
    assert [r.sequence for r in stored] == list(range(1, len(stored) + 1))
    verdict = await _verify(second.grpc_target("audit"))
    assert verdict.intact, verdict
