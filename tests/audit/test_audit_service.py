"""The service as the runtime hosts it: health names, calls before start and
after the store failed, and the metrics it reports."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from audit_support import AUDITOR, AUTH, StartAudit, event, q
from grpc_health.v1 import health_pb2, health_pb2_grpc

from extplane.audit.config import AuditSettings
from extplane.audit.service import QUERY_SERVICE, SINK_SERVICE, AuditService
from extplane.config import Settings
from extplane.runtime import Metrics
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane.runtime.server import GrpcServer
from extplane_protos.orloj.extensions.v1 import audit_pb2, audit_pb2_grpc, audit_query_pb2_grpc
from tests.loopback import runtime_server


def _service(tmp_path: Path, metrics: Metrics) -> AuditService:
    return AuditService(
        AuditSettings(port=0),
        ServiceKit.for_directory(
            tmp_path, auth=AuthSettings.model_validate(AUTH), registry=metrics.registry
        ),
    )


async def test_the_runtime_serves_both_services_healthy(tmp_path: Path) -> None:
    metrics = Metrics()
    server = GrpcServer(
        _service(tmp_path, metrics),
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=Settings().shutdown_grace_s,
        metrics=metrics,
    )
    async with server, grpc.aio.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in (SINK_SERVICE, QUERY_SERVICE):
            answer = await health.Check(health_pb2.HealthCheckRequest(service=name))
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        sink = audit_pb2_grpc.AuditSinkStub(channel)
        response = await sink.RecordAudit(audit_pb2.RecordAuditRequest(event=event(1)))
    assert response.sequence == 1
    assert (tmp_path / "audit.db").exists()
    assert (tmp_path / "audit-keys" / "active").exists()


async def test_calls_before_start_are_unavailable(tmp_path: Path) -> None:
    service = _service(tmp_path, Metrics())
    server = runtime_server()
    service.add_to_server(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as sink:
                await audit_pb2_grpc.AuditSinkStub(channel).RecordAudit(
                    audit_pb2.RecordAuditRequest(event=event(1))
                )
            with pytest.raises(grpc.aio.AioRpcError) as query:
                await audit_query_pb2_grpc.AuditQueryServiceStub(channel).VerifyAuditLog(
                    q.VerifyAuditLogRequest(), metadata=AUDITOR
                )
    finally:
        await server.stop(None)
        await service.stop()

    assert sink.value.code() == grpc.StatusCode.UNAVAILABLE
    assert query.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_failed_write_is_unavailable_and_not_acknowledged(
    start_audit: StartAudit,
) -> None:
    audit = await start_audit()
    running = audit.service.running
    assert running is not None
    await running.store.close()

    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await audit.record(event(1))

    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "could not be written" in (failed.value.details() or "")


@pytest.mark.parametrize(
    ("rpc", "message"),
    [
        ("ListAuditEvents", q.ListAuditEventsRequest()),
        ("VerifyAuditLog", q.VerifyAuditLogRequest()),
        ("ListAuditCheckpoints", q.ListAuditCheckpointsRequest()),
    ],
)
async def test_a_failed_read_is_unavailable_never_unknown(
    start_audit: StartAudit, rpc: str, message: object
) -> None:
    audit = await start_audit()
    await audit.record(event(1))
    running = audit.service.running
    assert running is not None
    await running.store.close()

    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await getattr(audit.query, rpc)(message, metadata=AUDITOR)
    with pytest.raises(grpc.aio.AioRpcError) as export:
        async for _ in audit.query.ExportAuditEvents(
            q.ExportAuditEventsRequest(), metadata=AUDITOR
        ):
            pass

    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert failed.value.details() == "the audit log could not be read"
    assert export.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_metrics_count_records_checkpoints_and_verifications(
    start_audit: StartAudit,
) -> None:
    audit = await start_audit(checkpoint_every_records=1_000_000)
    await audit.record(*(event(i) for i in range(7)))
    await audit.checkpoint()
    await audit.verify()
    await audit.editor().execute(("UPDATE audit_records SET actor = 'x' WHERE sequence = 3", []))
    await audit.verify()

    def sample(name: str, **labels: str) -> float | None:
        return audit.registry.get_sample_value(name, labels)

    assert sample("extplane_audit_events_recorded_total") == 7
    assert sample("extplane_audit_chain_head_sequence") == 7
    assert sample("extplane_audit_checkpoints_total") == 1
    assert sample("extplane_audit_verifications_total", result="intact") == 1
    assert sample("extplane_audit_verifications_total", result="modified") == 1


async def test_a_head_another_process_appended_is_signed_only_if_it_verifies(
    start_audit: StartAudit,
) -> None:
    writer = await start_audit(checkpoint_every_records=1_000_000)
    await writer.record(*(event(i) for i in range(10)))
    await writer.checkpoint()
    await writer.record(*(event(i) for i in range(10, 15)))
    # A second replica on the same database: the head at 15 is not its own.
    replica = await start_audit(checkpoint_every_records=1_000_000)
    await replica.record(event(15))
    await replica.checkpoint()
    await writer.record(event(16))
    await writer.editor().execute(("UPDATE audit_records SET actor = 'x' WHERE sequence = 17", []))

    await replica.checkpoint()

    listed = await replica.query.ListAuditCheckpoints(
        q.ListAuditCheckpointsRequest(), metadata=AUDITOR
    )
    assert [c.sequence for c in listed.checkpoints] == [10, 16]
