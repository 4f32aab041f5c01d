"""Recording: sequences, idempotency by event_id, durability of what is acked,
and one gap-free valid chain under many concurrent writers. Both backends."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
from audit_support import Audit, StartAudit, event

from extplane_protos.orloj.extensions.v1 import audit_pb2, audit_pb2_grpc


async def test_each_event_gets_the_next_sequence_and_is_stored_as_sent(
    start_audit: StartAudit,
) -> None:
    audit = await start_audit()
    sent = [event(i, details={"i": str(i), "é": "日本"}) for i in range(3)]

    sequences = [
        (await audit.sink.RecordAudit(audit_pb2.RecordAuditRequest(event=e))).sequence for e in sent
    ]

    assert sequences == [1, 2, 3]
    stored = await audit.list_all()
    assert [r.event for r in stored] == sent
    assert stored[0].previous_hash == "0" * 64
    assert [r.previous_hash for r in stored[1:]] == [r.hash for r in stored[:-1]]
    assert all(r.receive_time.seconds > 0 for r in stored)


async def test_a_repeated_event_id_is_acknowledged_and_stored_once(
    start_audit: StartAudit,
) -> None:
    audit = await start_audit()
    first = await audit.sink.RecordAudit(audit_pb2.RecordAuditRequest(event=event(1)))
    again = await audit.sink.RecordAudit(audit_pb2.RecordAuditRequest(event=event(1)))
    batch = await audit.record(event(1), event(2), event(2), event(3))

    assert (first.sequence, first.duplicate) == (1, False)
    assert (again.sequence, again.duplicate) == (1, True)
    assert (batch.accepted, batch.duplicates) == (2, 2)
    assert [r.event.event_id for r in await audit.list_all()] == [
        "evt-000001",
        "evt-000002",
        "evt-000003",
    ]
    assert audit.registry.get_sample_value("extplane_audit_events_duplicate_total") == 3
    assert audit.registry.get_sample_value("extplane_audit_events_recorded_total") == 3


async def test_one_event_id_in_two_namespaces_is_two_events(start_audit: StartAudit) -> None:
    """Idempotency is per tenant: B's "42" is not A's, and A's sequence never reaches B."""
    audit = await start_audit()
    tenant_a = await audit.sink.RecordAudit(
        audit_pb2.RecordAuditRequest(event=event(1, namespace="tenant-a", event_id="42"))
    )
    tenant_b = await audit.sink.RecordAudit(
        audit_pb2.RecordAuditRequest(event=event(2, namespace="tenant-b", event_id="42"))
    )
    batch = await audit.record(
        event(3, namespace="tenant-c", event_id="42"),
        event(4, namespace="tenant-a", event_id="42"),
        event(5, namespace="tenant-c", event_id="42"),
    )
    retried_b = await audit.sink.RecordAudit(
        audit_pb2.RecordAuditRequest(event=event(2, namespace="tenant-b", event_id="42"))
    )

    assert (tenant_a.sequence, tenant_a.duplicate) == (1, False)
    assert (tenant_b.sequence, tenant_b.duplicate) == (2, False)
    assert (batch.accepted, batch.duplicates) == (1, 2)
    assert (retried_b.sequence, retried_b.duplicate) == (2, True)
    stored = await audit.list_all()
    assert [(r.event.namespace, r.event.event_id) for r in stored] == [
        ("tenant-a", "42"),
        ("tenant-b", "42"),
        ("tenant-c", "42"),
    ]
    assert (await audit.verify()).intact


async def test_events_without_an_id_are_never_deduplicated(start_audit: StartAudit) -> None:
    audit = await start_audit()

    response = await audit.record(event(1, event_id=""), event(1, event_id=""))

    assert (response.accepted, response.duplicates) == (2, 0)
    assert [r.event.event_id for r in await audit.list_all()] == ["", ""]


async def test_a_restarted_service_continues_the_chain(start_audit: StartAudit) -> None:
    audit = await start_audit()
    await audit.record(*(event(i) for i in range(5)))
    await audit.service.stop()
    await audit.service.start()

    resent = await audit.record(event(4), event(5))

    assert (resent.accepted, resent.duplicates) == (1, 1)
    verdict = await audit.verify()
    assert verdict.intact
    assert verdict.to_sequence == 6
    # stop() signed the head it had reached.
    assert verdict.checkpoints_verified == 1


def _write_from_threads(audit: Audit, threads: int, per_thread: int) -> dict[str, int]:
    """Each thread its own channel, mixing unary and batch calls, some ids shared."""
    acked: dict[str, int] = {}
    lock = threading.Lock()

    def writer(worker: int) -> None:
        with grpc.insecure_channel(audit.address) as channel:
            stub = audit_pb2_grpc.AuditSinkStub(channel)
            for n in range(per_thread):
                # Every fifth event is one another thread also sends.
                key = n if n % 5 == 0 else worker * per_thread + n + 10_000
                sent = event(key)
                if n % 2:
                    response = stub.RecordAudit(audit_pb2.RecordAuditRequest(event=sent))
                    sequence = response.sequence
                else:
                    stub.RecordAuditBatch(audit_pb2.RecordAuditBatchRequest(events=[sent]))
                    sequence = -1
                with lock:
                    if sequence > 0:
                        assert acked.get(sent.event_id, sequence) == sequence
                        acked[sent.event_id] = sequence
                    else:
                        acked.setdefault(sent.event_id, -1)

    with ThreadPoolExecutor(threads) as pool:
        for done in [pool.submit(writer, w) for w in range(threads)]:
            done.result()
    return acked


async def test_concurrent_writers_make_one_gap_free_valid_chain(start_audit: StartAudit) -> None:
    audit = await start_audit(checkpoint_every_records=50)
    threads, per_thread = 12, 40

    acked = await asyncio.to_thread(_write_from_threads, audit, threads, per_thread)

    stored = await audit.list_all()
    assert [r.sequence for r in stored] == list(range(1, len(stored) + 1))
    by_id = {r.event.event_id: r.sequence for r in stored}
    assert len(by_id) == len(stored) == len(acked)
    for event_id, sequence in acked.items():
        assert sequence in (-1, by_id[event_id])
    await audit.checkpoint()
    verdict = await audit.verify()
    assert verdict.intact, verdict
    assert verdict.records_verified == len(stored)
    assert verdict.checkpoints_verified >= 1
