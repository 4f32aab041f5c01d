"""The metering service as the suite runs it: lifecycle, the shared gRPC server
(health and reflection for both services), and its place in the suite."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from metering_support import READER, event
from pydantic import SecretStr

from extplane.config import Settings
from extplane.metering.config import MeteringSettings
from extplane.metering.service import QUERY_SERVICE, SINK_SERVICE, MeteringService
from extplane.runtime import Metrics
from extplane.runtime.auth import AuthSettings
from extplane.runtime.kit import ServiceKit
from extplane.runtime.server import GrpcServer
from extplane.suite import GRPC_SERVICES, Suite, served_by
from extplane_protos.orloj.extensions.v1 import (
    metering_pb2,
    metering_pb2_grpc,
    metering_query_pb2,
    metering_query_pb2_grpc,
)
from tests.loopback import runtime_server, unused_port


def _service(tmp_path: Path, **settings: object) -> MeteringService:
    return MeteringService(
        MeteringSettings.model_validate({"port": 0, **settings}), ServiceKit.for_directory(tmp_path)
    )


def test_it_serves_both_contracts() -> None:
    assert SINK_SERVICE == "orloj.extensions.v1.MeteringSink"
    assert QUERY_SERVICE == "orloj.extensions.v1.MeteringQueryService"
    entry = GRPC_SERVICES["metering"]
    assert entry.serves == (SINK_SERVICE, QUERY_SERVICE)
    assert served_by(QUERY_SERVICE) == "metering"
    assert entry.port(Settings()) == 50052


async def test_stop_is_safe_without_start_and_twice(tmp_path: Path) -> None:
    service = _service(tmp_path)
    await service.stop()
    await service.start()
    await service.stop()
    await service.stop()

    assert (tmp_path / "metering.db").exists()


async def test_on_the_shared_server_both_services_are_healthy_and_reflected(
    tmp_path: Path,
) -> None:
    server = GrpcServer(
        _service(tmp_path),
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=Settings().shutdown_grace_s,
        metrics=Metrics(),
    )
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            statuses = [
                (await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)).status
                for name in (SINK_SERVICE, QUERY_SERVICE)
            ]
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            answers = reflection.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
            )
            listed = [s.name async for a in answers for s in a.list_services_response.service]
            answer = await metering_pb2_grpc.MeteringSinkStub(channel).RecordMetering(
                metering_pb2.RecordMeteringRequest(event=event(event_id="x")), timeout=5
            )
    finally:
        await server.stop(0)

    assert statuses == [health_pb2.HealthCheckResponse.SERVING] * 2
    assert {SINK_SERVICE, QUERY_SERVICE} <= set(listed)
    assert answer.duplicate is False


async def test_the_suite_hosts_it_with_its_store_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, metering={"port": 0}, metrics={"enabled": False})
    async with Suite(settings, names=("metering",), metrics=Metrics()) as suite:
        port = suite.servers["metering"].port
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            answer = await metering_pb2_grpc.MeteringSinkStub(channel).RecordMeteringBatch(
                metering_pb2.RecordMeteringBatchRequest(events=[event(), event()]), timeout=5
            )
            # No token is configured: queries are refused, not served to anyone.
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await metering_query_pb2_grpc.MeteringQueryServiceStub(channel).ListMeteringEvents(
                    metering_query_pb2.ListMeteringEventsRequest(), metadata=READER, timeout=5
                )

    assert answer.accepted == 2
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (tmp_path / "metering.db").exists()
    assert ("metering", f"grpc://127.0.0.1:{port}") in suite.addresses()


async def test_an_unreachable_postgres_fails_the_start(tmp_path: Path) -> None:
    service = _service(
        tmp_path, database_url=f"postgresql://postgres@127.0.0.1:{unused_port()}/test"
    )

    with pytest.raises(ConnectionRefusedError):
        await service.start()
    await service.stop()


async def test_a_stopped_service_refuses_queries_as_unavailable(tmp_path: Path) -> None:
    service = MeteringService(
        MeteringSettings(port=0),
        ServiceKit.for_directory(
            tmp_path,
            auth=AuthSettings.model_validate(
                {
                    "tokens": [
                        {"name": "r", "token": READER[0][1][7:], "roles": ["metering.reader"]}
                    ],
                    "allow_unauthenticated_ingest": True,
                }
            ),
        ),
    )
    server = runtime_server()
    service.add_to_server(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            query = metering_query_pb2_grpc.MeteringQueryServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as before_start:
                await query.ListMeteringEvents(
                    metering_query_pb2.ListMeteringEventsRequest(), metadata=READER, timeout=5
                )
            await service.start()
            served = await query.ListMeteringEvents(
                metering_query_pb2.ListMeteringEventsRequest(), metadata=READER, timeout=5
            )
            await service.stop()
            with pytest.raises(grpc.aio.AioRpcError) as after_stop:
                await query.ListMeteringEvents(
                    metering_query_pb2.ListMeteringEventsRequest(), metadata=READER, timeout=5
                )
    finally:
        await server.stop(None)

    assert before_start.value.code() == grpc.StatusCode.UNAVAILABLE
    assert list(served.events) == []
    assert after_stop.value.code() == grpc.StatusCode.UNAVAILABLE


async def _replica(tmp_path: Path, dsn: str, key: str | None) -> tuple[str, GrpcServer]:
    auth = AuthSettings.model_validate(
        {
            "tokens": [{"name": "r", "token": READER[0][1][7:], "roles": ["metering.reader"]}],
            "allow_unauthenticated_ingest": True,
        }
    )
    kit = ServiceKit.for_directory(
        tmp_path, auth=auth, page_token_key=SecretStr(key) if key else None
    )
    server = GrpcServer(
        MeteringService(MeteringSettings(port=0, database_url=dsn), kit),
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=1,
        metrics=Metrics(),
    )
    await server.start()
    return server.address, server


@pytest.mark.parametrize("shared_key", [True, False], ids=["key configured", "each its own"])
async def test_replicas_sharing_a_database_share_page_tokens_only_with_one_key(
    tmp_path: Path, postgres_dsn: str, shared_key: bool, caplog: pytest.LogCaptureFixture
) -> None:
    key = "replicas-share-this-page-token-key-0123456789"
    servers = []
    addresses = []
    for index in range(2):
        address, server = await _replica(
            tmp_path / f"pod-{index}", postgres_dsn, key if shared_key else None
        )
        servers.append(server)
        addresses.append(address)
    try:
        async with (
            grpc.aio.insecure_channel(addresses[0]) as first,
            grpc.aio.insecure_channel(addresses[1]) as second,
        ):
            sink = metering_pb2_grpc.MeteringSinkStub(first)
            for index in range(3):
                await sink.RecordMetering(
                    metering_pb2.RecordMeteringRequest(event=event(event_id=f"e{index}"))
                )
            page = await metering_query_pb2_grpc.MeteringQueryServiceStub(first).ListMeteringEvents(
                metering_query_pb2.ListMeteringEventsRequest(page_size=1), metadata=READER
            )
            next_page = metering_query_pb2_grpc.MeteringQueryServiceStub(second).ListMeteringEvents(
                metering_query_pb2.ListMeteringEventsRequest(
                    page_size=1, page_token=page.next_page_token
                ),
                metadata=READER,
            )
            if shared_key:
                assert len((await next_page).events) == 1
                assert "replicas sharing this database" not in caplog.text
            else:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await next_page
                assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert "set page_token_key" in caplog.text
    finally:
        for server in servers:
            await server.stop(0)
