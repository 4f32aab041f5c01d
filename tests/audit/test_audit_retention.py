"""Retention prunes old records only up to a checkpoint, records the pruning
in the chain, and leaves a log that verifies from its retained head; a
deletion dressed up as pruning is still caught. Both backends."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from audit_support import Audit, StartAudit, event, q, violations

from extplane.audit.retention import Retention
from extplane_protos.orloj.extensions.v1 import audit_pb2

DAY_S = 86_400.0


def _retention(audit: Audit) -> Retention:
    retention = audit.service.retention
    assert retention is not None
    return retention


@pytest.fixture
async def aged(start_audit: StartAudit) -> Audit:
    """Records 1-10 checkpointed and 11-15 not, two days old; 16-18 new."""
    audit = await start_audit(retention_days=1, checkpoint_every_records=1_000_000)
    await audit.record(*(event(i) for i in range(1, 11)))
    await audit.checkpoint()
    await audit.record(*(event(i) for i in range(11, 16)))
    audit.clock.advance(2 * DAY_S)
    await audit.record(*(event(i, at_ns=audit.clock()) for i in range(16, 19)))
    return audit


async def test_pruning_stops_at_a_checkpoint_and_is_itself_recorded(aged: Audit) -> None:
    (outcome,) = await _retention(aged).prune_once()

    assert (outcome.first, outcome.through, outcome.records) == (1, 10, 10)
    records = await aged.list_all()
    assert [r.sequence for r in records] == list(range(11, 20))
    prune = records[-1]
    assert prune.sequence == outcome.event_sequence == 19
    assert (prune.event.action, prune.event.actor) == ("audit.prune", "extplane.audit.retention")
    assert prune.event.outcome == "allowed"
    assert dict(prune.event.details) == {
        "from_sequence": "1",
        "through_sequence": "10",
        "records": "10",
        "cutoff": prune.event.details["cutoff"],
    }
    assert aged.registry.get_sample_value("extplane_audit_records_pruned_total") == 10


async def test_the_retained_log_verifies_from_the_checkpoint_it_was_pruned_to(
    aged: Audit,
) -> None:
    await _retention(aged).prune_once()

    verdict = await aged.verify()

    assert verdict.intact, verdict
    assert (verdict.from_sequence, verdict.to_sequence) == (11, 19)
    assert verdict.records_verified == 9
    assert verdict.checkpoints_verified == 1
    with pytest.raises(grpc.aio.AioRpcError) as pruned:
        await aged.verify(to_sequence=5)
    assert "pruned" in violations(pruned.value)["to_sequence"]


async def test_pruning_again_removes_the_earlier_prune_event_and_still_verifies(
    aged: Audit,
) -> None:
    await _retention(aged).prune_once()
    await aged.checkpoint()
    aged.clock.advance(2 * DAY_S)

    (outcome,) = await _retention(aged).prune_once()

    assert (outcome.first, outcome.through) == (11, 19)
    verdict = await aged.verify()
    assert verdict.intact, verdict
    assert (verdict.from_sequence, verdict.to_sequence) == (20, 20)


async def test_records_newer_than_the_cutoff_are_never_pruned(start_audit: StartAudit) -> None:
    audit = await start_audit(retention_days=1)
    await audit.record(*(event(i) for i in range(5)))
    await audit.checkpoint()

    assert await _retention(audit).prune_once() == []
    assert len(await audit.list_all()) == 5


async def test_a_step_prunes_at_most_the_configured_records(start_audit: StartAudit) -> None:
    audit = await start_audit(retention_days=1, retention_max_records=5)
    for start in range(0, 20, 5):
        await audit.record(*(event(i) for i in range(start, start + 5)))
        await audit.checkpoint()
    audit.clock.advance(2 * DAY_S)

    steps = await _retention(audit).prune_once()

    # 4 steps of 5; each prune event is itself old enough for the next step
    # only once checkpointed, so it stays.
    assert [(s.first, s.through, s.records) for s in steps] == [
        (1, 5, 5),
        (6, 10, 5),
        (11, 15, 5),
        (16, 20, 5),
    ]
    verdict = await audit.verify()
    assert verdict.intact, verdict
    assert verdict.from_sequence == 21


async def test_the_background_task_prunes_on_its_interval(start_audit: StartAudit) -> None:
    audit = await start_audit(retention_days=1, retention_interval_s=0.05)
    await audit.record(*(event(i) for i in range(5)))
    await audit.checkpoint()
    audit.clock.advance(2 * DAY_S)

    for _ in range(400):
        records = await audit.list_all()
        if records and records[0].sequence > 1:
            break
        await asyncio.sleep(0.05)

    assert [r.sequence for r in records] == [6]
    assert (await audit.verify()).intact


async def test_deleting_the_oldest_retained_record_is_caught(aged: Audit) -> None:
    await _retention(aged).prune_once()
    await aged.editor().execute(("DELETE FROM audit_records WHERE sequence = 11", []))

    verdict = await aged.verify()

    assert not verdict.intact
    assert verdict.first_problem.kind == q.AUDIT_TAMPER_KIND_DELETED
    assert verdict.first_problem.sequence == 11


async def test_a_deletion_up_to_a_checkpoint_is_told_from_pruning(aged: Audit) -> None:
    await aged.checkpoint()  # at 18: too young for retention to prune to
    await _retention(aged).prune_once()  # through 10; the prune event is 19
    # Delete 11..18 as retention would have, except that the prune event says 10.
    await aged.editor().execute(("DELETE FROM audit_records WHERE sequence <= 18", []))

    verdict = await aged.verify()

    assert not verdict.intact
    assert verdict.first_problem.kind == q.AUDIT_TAMPER_KIND_DELETED
    assert verdict.first_problem.sequence == 11
    assert "through 10" in verdict.first_problem.detail


async def test_a_deletion_that_takes_the_prune_event_along_is_caught(aged: Audit) -> None:
    await _retention(aged).prune_once()
    await aged.checkpoint()  # at 19, the prune event
    await aged.record(event(99, at_ns=aged.clock()))
    await aged.editor().execute(("DELETE FROM audit_records WHERE sequence <= 19", []))

    verdict = await aged.verify()

    assert not verdict.intact
    assert verdict.first_problem.kind == q.AUDIT_TAMPER_KIND_DELETED
    assert verdict.first_problem.sequence == 1
    assert "no audit.prune event" in verdict.first_problem.detail


async def test_a_retry_of_a_pruned_event_is_refused_not_stored_again(aged: Audit) -> None:
    await _retention(aged).prune_once()
    original = event(3)  # stored two days ago (by the service's clock) and pruned
    original.timestamp.CopyFrom((await aged.list_all())[0].event.timestamp)  # same age as 11
    original.timestamp.seconds -= 1

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await aged.sink.RecordAudit(audit_pb2.RecordAuditRequest(event=original))
    with pytest.raises(grpc.aio.AioRpcError) as refused_in_batch:
        await aged.record(original, event(100, at_ns=aged.clock()))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "retention horizon" in violations(refused.value)["event.timestamp"]
    assert "events[0].timestamp" in violations(refused_in_batch.value)
    assert [r.event.event_id for r in await aged.list_all()].count("evt-000003") == 0
    fresh = await aged.sink.RecordAudit(
        audit_pb2.RecordAuditRequest(event=event(3, at_ns=aged.clock()))
    )
    assert not fresh.duplicate  # a new event with that id, timestamped now, is its own record
