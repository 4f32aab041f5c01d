"""Who may write to the sinks: the ingest matrix over real gRPC channels, for both
sinks, and the start-up refusal of an unauthenticated non-loopback bind."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from extplane.audit.config import AuditSettings
from extplane.audit.service import AuditService
from extplane.errors import StartupError
from extplane.metering.config import MeteringSettings
from extplane.metering.service import MeteringService
from extplane.runtime import AuthSettings, GrpcServer, ServiceKit, create_channel, is_loopback_host
from extplane_protos.orloj.extensions.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    metering_pb2,
    metering_pb2_grpc,
)
from tests.e2e.cli_process import run_extplane
from tests.loopback import runtime_server
from tests.tls_certs import Pki

WRITER = "writer-token-0123456789"
READER = "reader-token-0123456789"
EVERYTHING = "admin-token-0123456789"
TOKENS = [
    {"name": "runtime", "token": WRITER, "roles": ["metering.writer", "audit.writer"]},
    {"name": "dashboard", "token": READER, "roles": ["metering.reader", "audit.reader"]},
    {"name": "operator", "token": EVERYTHING, "roles": ["*"]},
]
Metadata = tuple[tuple[str, str], ...]


def bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


def _now() -> Timestamp:
    stamp = Timestamp()
    stamp.FromNanoseconds(time.time_ns())
    return stamp


@dataclass(frozen=True)
class Sink:
    """One sink's write RPCs as a test calls them."""

    name: str
    build: Callable[[Path, ServiceKit], Any]
    write_one: Callable[[grpc.aio.Channel, Metadata, int], Awaitable[Any]]
    write_batch: Callable[[grpc.aio.Channel, Metadata, int], Awaitable[Any]]


def _metering_event(index: int) -> metering_pb2.MeteringEvent:
    return metering_pb2.MeteringEvent(
        timestamp=_now(),
        namespace="team-a",
        task=f"task-{index}",
        agent="planner",
        model="gpt-test",
        tokens_in=10,
        event_id=f"metering-{index}",
    )


def _audit_event(index: int) -> audit_pb2.AuditEvent:
    return audit_pb2.AuditEvent(
        timestamp=_now(),
        namespace="team-a",
        actor="agent/planner",
        action="tool_invoke",
        resource=f"tool/search-{index}",
        outcome="allowed",
        event_id=f"audit-{index}",
    )


async def _metering_one(channel: grpc.aio.Channel, metadata: Metadata, index: int) -> Any:
    return await metering_pb2_grpc.MeteringSinkStub(channel).RecordMetering(
        metering_pb2.RecordMeteringRequest(event=_metering_event(index)),
        metadata=metadata,
        timeout=10,
    )


async def _metering_batch(channel: grpc.aio.Channel, metadata: Metadata, index: int) -> Any:
    return await metering_pb2_grpc.MeteringSinkStub(channel).RecordMeteringBatch(
        metering_pb2.RecordMeteringBatchRequest(events=[_metering_event(index)]),
        metadata=metadata,
        timeout=10,
    )


async def _audit_one(channel: grpc.aio.Channel, metadata: Metadata, index: int) -> Any:
    return await audit_pb2_grpc.AuditSinkStub(channel).RecordAudit(
        audit_pb2.RecordAuditRequest(event=_audit_event(index)), metadata=metadata, timeout=10
    )


async def _audit_batch(channel: grpc.aio.Channel, metadata: Metadata, index: int) -> Any:
    return await audit_pb2_grpc.AuditSinkStub(channel).RecordAuditBatch(
        audit_pb2.RecordAuditBatchRequest(events=[_audit_event(index)]),
        metadata=metadata,
        timeout=10,
    )


SINKS = {
    "metering": Sink(
        "metering",
        lambda data, kit: MeteringService(MeteringSettings(port=0), kit),
        _metering_one,
        _metering_batch,
    ),
    "audit": Sink(
        "audit",
        lambda data, kit: AuditService(AuditSettings(port=0), kit),
        _audit_one,
        _audit_batch,
    ),
}


@asynccontextmanager
async def serving(
    sink: Sink, data: Path, auth: dict[str, Any], *, bind_host: str = "127.0.0.1"
) -> AsyncIterator[grpc.aio.Channel]:
    kit = ServiceKit.for_directory(
        data, auth=AuthSettings.model_validate(auth), bind_host=bind_host
    )
    service = sink.build(data, kit)
    server = runtime_server()
    service.add_to_server(server)
    port = server.add_insecure_port("127.0.0.1:0")
    await service.start()
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        await server.stop(None)
        await service.stop()


CASES = [
    # (credentials sent, the answer)
    ("no token", (), grpc.StatusCode.UNAUTHENTICATED),
    ("unknown token", bearer("forged-token-0123456789"), grpc.StatusCode.UNAUTHENTICATED),
    ("not a bearer", (("authorization", f"Basic {WRITER}"),), grpc.StatusCode.UNAUTHENTICATED),
    ("reader token", bearer(READER), grpc.StatusCode.PERMISSION_DENIED),
    ("writer token", bearer(WRITER), grpc.StatusCode.OK),
    ("'*' token", bearer(EVERYTHING), grpc.StatusCode.OK),
]


@pytest.mark.parametrize("sink_name", SINKS)
@pytest.mark.parametrize("batch", [False, True], ids=["unary", "batch"])
async def test_with_tokens_configured_only_a_writer_may_write(
    tmp_path: Path, sink_name: str, batch: bool
) -> None:
    sink = SINKS[sink_name]
    write = sink.write_batch if batch else sink.write_one
    answers: dict[str, tuple[grpc.StatusCode, str]] = {}
    async with serving(sink, tmp_path, {"tokens": TOKENS}) as channel:
        for index, (case, metadata, _) in enumerate(CASES):
            try:
                await write(channel, metadata, index)
                answers[case] = (grpc.StatusCode.OK, "")
            except grpc.aio.AioRpcError as error:
                answers[case] = (error.code(), error.details() or "")
    assert {case: code for case, (code, _) in answers.items()} == {
        case: expected for case, _, expected in CASES
    }
    assert f"lacks role '{sink_name}.writer'" in answers["reader token"][1]


async def test_refused_writes_store_nothing(tmp_path: Path) -> None:
    sink = SINKS["audit"]
    async with serving(sink, tmp_path, {"tokens": TOKENS}) as channel:
        with pytest.raises(grpc.aio.AioRpcError):
            await sink.write_batch(channel, bearer(READER), 1)
        # The same event_id, now from a writer: stored anew, not a duplicate.
        answer = await sink.write_batch(channel, bearer(WRITER), 1)
    assert (answer.accepted, answer.duplicates) == (1, 0)


@pytest.mark.parametrize("sink_name", SINKS)
async def test_the_embedded_default_on_loopback_takes_writes_without_credentials(
    tmp_path: Path, sink_name: str
) -> None:
    sink = SINKS[sink_name]
    async with serving(sink, tmp_path, {}) as channel:
        await sink.write_one(channel, (), 0)
        await sink.write_batch(channel, (), 1)
        # A token is still checked when one is sent: a forged one is not "anonymous".
        with pytest.raises(grpc.aio.AioRpcError) as forged:
            await sink.write_one(channel, bearer("forged-token-0123456789"), 2)
    assert forged.value.code() is grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("sink_name", SINKS)
async def test_an_explicit_opt_in_opens_ingest_beside_the_tokens(
    tmp_path: Path, sink_name: str
) -> None:
    sink = SINKS[sink_name]
    auth = {"tokens": TOKENS, "allow_unauthenticated_ingest": True}
    async with serving(sink, tmp_path, auth) as channel:
        await sink.write_one(channel, (), 0)
        with pytest.raises(grpc.aio.AioRpcError) as reader:
            await sink.write_one(channel, bearer(READER), 1)
    assert reader.value.code() is grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("sink_name", SINKS)
async def test_a_non_loopback_bind_without_authentication_refuses_to_start(
    tmp_path: Path, sink_name: str
) -> None:
    sink = SINKS[sink_name]
    kit = ServiceKit.for_directory(tmp_path, bind_host="0.0.0.0")
    service = sink.build(tmp_path, kit)
    with pytest.raises(StartupError, match="allow_unauthenticated_ingest"):
        await service.start()
    await service.stop()


@pytest.mark.parametrize("sink_name", SINKS)
@pytest.mark.parametrize(
    "auth",
    [{"tokens": TOKENS}, {"allow_unauthenticated_ingest": True}],
    ids=["writer tokens", "opt-in"],
)
async def test_a_non_loopback_bind_starts_with_tokens_or_the_opt_in(
    tmp_path: Path, sink_name: str, auth: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    sink = SINKS[sink_name]
    kit = ServiceKit.for_directory(
        tmp_path, auth=AuthSettings.model_validate(auth), bind_host="0.0.0.0"
    )
    service = sink.build(tmp_path, kit)
    await service.start()
    await service.stop()
    if auth.get("allow_unauthenticated_ingest"):
        assert "accepts unauthenticated ingest on 0.0.0.0" in caplog.text


async def test_the_cli_refuses_an_open_wildcard_bind_in_one_line(tmp_path: Path) -> None:
    env = {
        "EXTPLANE_HOST": "0.0.0.0",
        "EXTPLANE_DATA_DIR": str(tmp_path),
        "EXTPLANE_METERING__PORT": "0",
        "EXTPLANE_METRICS__ENABLED": "false",
    }
    result = await run_extplane("serve", "metering", env=env)

    assert result.code == 2
    assert "refusing to serve ingest on 0.0.0.0 without authentication" in result.stderr
    assert "Traceback" not in result.stderr


async def test_the_cli_starts_a_wildcard_bind_with_a_writer_token(tmp_path: Path) -> None:
    env = {
        "EXTPLANE_HOST": "0.0.0.0",
        "EXTPLANE_DATA_DIR": str(tmp_path),
        "EXTPLANE_METERING__PORT": "0",
        "EXTPLANE_METRICS__ENABLED": "false",
        "EXTPLANE_AUTH__TOKENS": json.dumps(TOKENS),
    }
    result = await run_extplane("config", "check", env=env)
    assert result.code == 0


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.8.7", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.5", False),
        ("extplane.internal", False),
    ],
)
def test_which_bind_addresses_are_loopback(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@asynccontextmanager
async def serving_mtls(
    sink: Sink, data: Path, pki: Pki, auth: dict[str, Any]
) -> AsyncIterator[str]:
    # Bound to loopback, but told it serves a wildcard: mTLS alone must let it start.
    kit = ServiceKit.for_directory(
        data,
        auth=AuthSettings.model_validate(auth),
        bind_host="0.0.0.0",
        client_certificates_required=True,
    )
    server = GrpcServer(
        sink.build(data, kit),
        host="127.0.0.1",
        port=0,
        shutdown_grace_s=0,
        tls=pki.server_tls(mtls=True),
    )
    await server.start()
    try:
        yield server.address
    finally:
        await server.stop(0)


@pytest.mark.parametrize("sink_name", SINKS)
async def test_over_mtls_a_verified_client_certificate_is_a_writer(
    tmp_path: Path, pki: Pki, sink_name: str
) -> None:
    sink = SINKS[sink_name]
    async with (
        serving_mtls(sink, tmp_path, pki, {}) as address,
        create_channel(address, tls=pki.client_tls("client")) as channel,
    ):
        await sink.write_one(channel, (), 0)
        await sink.write_batch(channel, (), 1)
        # A token sent beside the certificate is still checked.
        with pytest.raises(grpc.aio.AioRpcError) as forged:
            await sink.write_one(channel, bearer("forged-token-0123456789"), 2)
    assert forged.value.code() is grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("sink_name", SINKS)
@pytest.mark.parametrize(
    "who", [None, "expired", "stranger"], ids=["no cert", "expired", "other CA"]
)
async def test_over_mtls_no_expired_or_foreign_certificate_writes_anything(
    tmp_path: Path, pki: Pki, sink_name: str, who: str | None
) -> None:
    sink = SINKS[sink_name]
    async with serving_mtls(sink, tmp_path, pki, {"tokens": TOKENS}) as address:
        async with create_channel(address, tls=pki.client_tls(who)) as channel:
            # Even the writer token does not get past a refused handshake.
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await sink.write_one(channel, bearer(WRITER), 0)
        async with create_channel(address, tls=pki.client_tls("client")) as channel:
            answer = await sink.write_batch(channel, bearer(WRITER), 0)
    assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
    # Nothing of the refused call was stored: the same event_id is new.
    assert (answer.accepted, answer.duplicates) == (1, 0)
