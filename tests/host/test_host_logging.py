"""`logging.info/warn/error` over the real wire, as `extplane up` hosts them:
register an install with `cap:log.emit`, issue its token through the
registry, call LoggingService on the host port with the token.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import cast

import grpc
import pytest
import pytest_asyncio
from host_support import ADMIN_TOKEN, AUTH, error_info, token_metadata

from extplane.config import Settings
from extplane.host.extension_logs import LogRecord, RecentLogs
from extplane.host.extension_logs.message import safe_message
from extplane.host.service import HostService
from extplane.runtime import Metrics
from extplane.suite import Suite, ephemeral_ports
from extplane_client import InstallsClient
from extplane_protos.alga.extension.v1 import logging_pb2, logging_pb2_grpc
from extplane_protos.extplane.admin.v1 import installs_pb2 as pb

ISSUER_TOKEN = "installs-issuer-token-0123456789"
LOG_AUTH = {
    "tokens": [
        *AUTH["tokens"],
        {"name": "runner", "token": ISSUER_TOKEN, "roles": ["installs.issuer"]},
    ]
}
on_the_suite_loop = pytest.mark.asyncio(loop_scope="module")
METRICS = Metrics()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def suite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Suite]:
    settings = Settings.model_validate(
        {
            "data_dir": tmp_path_factory.mktemp("data"),
            "auth": LOG_AUTH,
            "metrics": {"enabled": False},
            "gateway": {"port": 0},
            **ephemeral_ports(),
        }
    )
    async with Suite(settings, metrics=METRICS) as running:
        yield running


async def _token(
    suite: Suite,
    install_id: str,
    capabilities: list[str],
    *,
    per_minute: int = 0,
    request_id: str = "",
) -> str:
    host = suite.servers["host"].address
    async with InstallsClient(host, token=ADMIN_TOKEN) as admin:
        await admin.register_install(
            tenant="acme",
            install_id=install_id,
            extension_id="com.example.tickets",
            version="1.2.0",
            granted_capabilities=capabilities,
            limits=pb.InstallLimits(log_records_per_minute=per_minute),
        )
    async with InstallsClient(host, token=ISSUER_TOKEN) as issuer:
        fields = {"request_id": request_id} if request_id else {}
        issued = await issuer.issue_install_token(tenant="acme", install_id=install_id, **fields)  # type: ignore[arg-type]
    return issued.token


def _stub(channel: grpc.aio.Channel) -> logging_pb2_grpc.LoggingServiceStub:
    return logging_pb2_grpc.LoggingServiceStub(channel)


async def _info(channel: grpc.aio.Channel, token: str, message: str) -> None:
    await _stub(channel).Info(
        logging_pb2.LoggingServiceInfoRequest(message=message),
        metadata=token_metadata(token),
        timeout=10,
    )


def _host(suite: Suite) -> HostService:
    return cast(HostService, suite.servers["host"].definition)


def _dropped(level: str) -> float:
    value = METRICS.registry.get_sample_value(
        "extplane_host_log_records_dropped_total", {"level": level}
    )
    return value or 0.0


def _extension_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "extplane.extension"]


@on_the_suite_loop
async def test_each_level_is_a_record_tagged_with_the_tokens_ids(
    suite: Suite, caplog: pytest.LogCaptureFixture
) -> None:
    token = await _token(suite, "log-1", ["cap:log.emit"], request_id="req-42")
    caplog.set_level(logging.INFO, logger="extplane.extension")
    async with grpc.aio.insecure_channel(suite.servers["host"].address) as channel:
        stub = _stub(channel)
        meta = token_metadata(token)
        await stub.Info(logging_pb2.LoggingServiceInfoRequest(message="hello"), metadata=meta)
        await stub.Warn(logging_pb2.LoggingServiceWarnRequest(message="careful"), metadata=meta)
        await stub.Error(logging_pb2.LoggingServiceErrorRequest(message="broke"), metadata=meta)

    records = _extension_records(caplog)
    assert [(r.levelno, r.extension_level) for r in records] == [  # type: ignore[attr-defined]
        (logging.INFO, "info"),
        (logging.WARNING, "warn"),
        (logging.ERROR, "error"),
    ]
    for record in records:
        assert record.tenant_id == "acme"  # type: ignore[attr-defined]
        assert record.extension_id == "com.example.tickets"  # type: ignore[attr-defined]
        assert record.install_id == "log-1"  # type: ignore[attr-defined]
        assert record.request_id == "req-42"  # type: ignore[attr-defined]
    assert records[0].getMessage() == "extension/com.example.tickets@log-1: hello"
    kept = _host(suite).logs.recent.of("acme", "log-1")
    assert [(r.level, r.message, r.request_id) for r in kept] == [
        ("info", "hello", "req-42"),
        ("warn", "careful", "req-42"),
        ("error", "broke", "req-42"),
    ]


@on_the_suite_loop
async def test_a_long_message_is_truncated_with_a_marker_and_controls_are_escaped(
    suite: Suite, caplog: pytest.LogCaptureFixture
) -> None:
    token = await _token(suite, "log-2", ["cap:log.emit"])
    caplog.set_level(logging.INFO, logger="extplane.extension")
    async with grpc.aio.insecure_channel(suite.servers["host"].address) as channel:
        await _info(channel, token, "x" * 5000)
        await _info(channel, token, "ok\nFAKE extplane: admin logged in\x1b[2J")

    long, forged = (r.message for r in _host(suite).logs.recent.of("acme", "log-2"))
    assert long == "x" * 4096 + "…[truncated 904 bytes]"
    assert forged == "ok\\x0aFAKE extplane: admin logged in\\x1b[2J"
    lines = [r.getMessage() for r in _extension_records(caplog)]
    assert all("\n" not in line and "\x1b" not in line for line in lines)


def test_truncation_never_splits_a_character() -> None:
    # 3-byte characters: 4096 is not a multiple of 3, so the cut falls inside one.
    message = "€" * 2000
    safe = safe_message(message)
    kept = safe.split("…[truncated ")[0]
    assert kept == "€" * 1365
    assert safe.endswith(f"…[truncated {6000 - 1365 * 3} bytes]")


@on_the_suite_loop
async def test_each_install_sees_only_its_own_records(suite: Suite) -> None:
    first = await _token(suite, "log-3a", ["cap:log.emit"])
    second = await _token(suite, "log-3b", ["cap:log.emit"])
    async with grpc.aio.insecure_channel(suite.servers["host"].address) as channel:
        await _info(channel, first, "from a")
        await _info(channel, second, "from b")

    recent = _host(suite).logs.recent
    assert [r.message for r in recent.of("acme", "log-3a")] == ["from a"]
    assert [r.message for r in recent.of("acme", "log-3b")] == ["from b"]


@on_the_suite_loop
async def test_over_the_installs_rate_the_call_answers_ok_and_the_drop_is_counted(
    suite: Suite, caplog: pytest.LogCaptureFixture
) -> None:
    token = await _token(suite, "log-4", ["cap:log.emit"], per_minute=3)
    caplog.set_level(logging.INFO, logger="extplane.extension")
    before = _dropped("info")
    async with grpc.aio.insecure_channel(suite.servers["host"].address) as channel:
        for n in range(5):
            await _info(channel, token, f"message {n}")  # every call answers OK

    assert [r.message for r in _host(suite).logs.recent.of("acme", "log-4")] == [
        "message 0",
        "message 1",
        "message 2",
    ]
    assert [r.install_id for r in _extension_records(caplog)] == ["log-4"] * 3  # type: ignore[attr-defined]
    assert _dropped("info") - before == 2


@on_the_suite_loop
async def test_without_log_emit_every_call_is_denied_not_dropped(suite: Suite) -> None:
    token = await _token(suite, "log-5", ["cap:user.read"])
    async with grpc.aio.insecure_channel(suite.servers["host"].address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _info(channel, token, "nobody hears this")
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    info = error_info(caught.value)
    assert info is not None
    assert info.reason == "CAPABILITY_DENIED"
    assert _host(suite).logs.recent.of("acme", "log-5") == []


def test_the_ring_keeps_the_newest_records_of_the_most_recent_installs() -> None:
    def record(install_id: str, message: str) -> LogRecord:
        return LogRecord("info", message, "acme", "ext", install_id, None, 0)

    recent = RecentLogs(per_install=2, installs=2)
    for n in range(3):
        recent.add(record("a", f"a{n}"))
    recent.add(record("b", "b0"))
    recent.add(record("a", "a3"))  # `a` is now the most recent; `b` the oldest
    recent.add(record("c", "c0"))

    assert [r.message for r in recent.of("acme", "a")] == ["a2", "a3"]
    assert recent.of("acme", "b") == []
    assert [r.message for r in recent.of("acme", "c")] == ["c0"]
