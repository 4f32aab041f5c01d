"""`extplane logs` and `extplane installs issue-token`, run as a user runs them,
against a running suite over loopback gRPC."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator

import grpc
import pytest
import pytest_asyncio
from extension_logs_support import ISSUER_TOKEN, host_address, install_token, log, running_suite
from host_support import ADMIN_TOKEN, READER_TOKEN, token_metadata, unverified_payload

from extplane.host.logs_cli import follow_logs
from extplane.suite import Suite
from extplane_client import ExtensionLogsClient, InstallsClient
from extplane_protos.alga.extension.v1 import (
    context_pb2,
    context_pb2_grpc,
    user_pb2,
    user_pb2_grpc,
    user_v2_pb2,
    user_v2_pb2_grpc,
)
from tests.e2e.cli_process import run_extplane

READER = {"EXTPLANE_TOKEN": READER_TOKEN}
ISSUER = {"EXTPLANE_TOKEN": ISSUER_TOKEN}
on_the_suite_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def suite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Suite]:
    async with running_suite(tmp_path_factory.mktemp("data")) as running:
        yield running


def _where(suite: Suite) -> tuple[str, str]:
    return ("--address", host_address(suite))


@on_the_suite_loop
async def test_logs_prints_the_records_as_text_and_as_json(suite: Suite) -> None:
    token = await install_token(suite, "cli-logs", request_id="req-1")
    await log(suite, token, "hello")
    await log(suite, token, "oops", level="error")
    where = _where(suite)

    text = await run_extplane(
        "logs", "--tenant", "acme", "--install", "cli-logs", *where, env=READER
    )
    as_json = await run_extplane(
        "logs", "--tenant", "acme", "--install", "cli-logs", "--json", "--level", "error",
        *where, env=READER,
    )  # fmt: skip

    assert text.code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(" [req-1] hello")
    assert " INFO " in lines[0]
    assert " ERROR " in lines[1]
    assert lines[1].endswith(" [req-1] oops")
    assert as_json.code == 0, as_json.stderr
    (record,) = (json.loads(line) for line in as_json.stdout.splitlines())
    assert record["message"] == "oops"
    assert record["level"] == "EXTENSION_LOG_LEVEL_ERROR"
    assert (record["tenant"], record["install_id"], record["request_id"]) == (
        "acme",
        "cli-logs",
        "req-1",
    )
    assert record["truncated"] is False


@on_the_suite_loop
async def test_logs_refusals_and_bad_options(suite: Suite) -> None:
    where = _where(suite)
    anonymous = await run_extplane("logs", "--tenant", "acme", "--install", "x", *where)
    issuer = await run_extplane("logs", "--tenant", "acme", "--install", "x", *where, env=ISSUER)
    level = await run_extplane(
        "logs", "--tenant", "acme", "--install", "x", "--level", "debug", *where, env=READER
    )
    interval = await run_extplane(
        "logs", "--tenant", "acme", "--install", "x", "--follow", "--interval", "0", *where,
        env=READER,
    )  # fmt: skip

    assert anonymous.code == 3
    assert "UNAUTHENTICATED" in anonymous.stderr
    assert issuer.code == 3
    assert "PERMISSION_DENIED" in issuer.stderr
    assert level.code == 2
    assert "--level" in level.stderr
    assert interval.code == 2
    assert "--interval" in interval.stderr


@on_the_suite_loop
async def test_follow_prints_each_new_record_once(suite: Suite) -> None:
    token = await install_token(suite, "cli-follow")
    await log(suite, token, "before")
    printed: list[str] = []
    arriving = [("one", "two"), (), ("three",)]

    async def between_polls(interval: float) -> None:
        # Instead of sleeping: the extension logs while the follower waits.
        assert interval == 0.5
        batch = arriving.pop(0)
        if batch:
            await log(suite, token, *batch)

    args = argparse.Namespace(
        tenant="acme",
        install_id="cli-follow",
        level=None,
        json=True,
        follow=True,
        interval=0.5,
        polls=4,
        timeout=10.0,
    )
    async with ExtensionLogsClient(host_address(suite), token=READER_TOKEN) as client:
        await follow_logs(client, args, out=printed.append, wait=between_polls)

    assert [json.loads(line)["message"] for line in printed] == ["before", "one", "two", "three"]
    assert arriving == []


@on_the_suite_loop
async def test_follow_runs_pages_until_caught_up_then_stops_after_its_polls(
    suite: Suite,
) -> None:
    token = await install_token(suite, "cli-polls")
    await log(suite, token, *(f"m{n}" for n in range(250)))

    followed = await run_extplane(
        "logs", "--tenant", "acme", "--install", "cli-polls", "--follow", "--polls", "2",
        "--interval", "0.1", *_where(suite), env=READER,
    )  # fmt: skip

    assert followed.code == 0, followed.stderr
    messages = [line.rsplit(" ", 1)[1] for line in followed.stdout.splitlines()]
    assert messages == [f"m{n}" for n in range(250)]


@on_the_suite_loop
async def test_ctrl_c_stops_a_follower_cleanly(suite: Suite) -> None:
    token = await install_token(suite, "cli-ctrl-c")
    await log(suite, token, "first")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXTPLANE_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "extplane.cli", "logs", "--tenant", "acme", "--install",
        "cli-ctrl-c", "--follow", "--interval", "60", *_where(suite),
        env={**clean, **READER},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert line.decode().rstrip().endswith(" first")
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == 0
    assert b"Traceback" not in err
    assert out == b""


async def _ask_user(
    suite: Suite, token: str
) -> tuple[user_pb2.UserServiceGetUserResponse, user_v2_pb2.UserV2ServiceGetUserResponse]:
    async with grpc.aio.insecure_channel(host_address(suite)) as channel:
        meta = token_metadata(token)
        v1 = await user_pb2_grpc.UserServiceStub(channel).GetUser(
            user_pb2.UserServiceGetUserRequest(), metadata=meta, timeout=10
        )
        v2 = await user_v2_pb2_grpc.UserV2ServiceStub(channel).GetUser(
            user_v2_pb2.UserV2ServiceGetUserRequest(), metadata=meta, timeout=10
        )
    return v1, v2


@on_the_suite_loop
async def test_issue_token_carries_the_user_and_its_fields_sorted_end_to_end(
    suite: Suite,
) -> None:
    async with InstallsClient(host_address(suite), token=ADMIN_TOKEN) as admin:
        await admin.register_install(
            tenant="acme",
            install_id="cli-token",
            extension_id="com.example.tickets",
            version="1.2.0",
            granted_capabilities=["cap:user.read", "cap:context.read"],
        )

    issued = await run_extplane(
        "installs", "issue-token", "--tenant", "acme", "--install", "cli-token",
        "--request-id", "req-9", "--user-id", "u-1", "--user-email", "ada@example.com",
        "--user-name", "Ada", "--client-id", "c-1",
        "--user-field", "zone=eu", "--user-field", "account=A-1", "--user-field", "role=a=b",
        *_where(suite), env=ISSUER,
    )  # fmt: skip

    assert issued.code == 0, issued.stderr
    token = issued.stdout.strip()
    assert "\n" not in token
    v1, v2 = await _ask_user(suite, token)
    assert (v1.user.user_id, v1.user.user_email, v1.user.user_name) == (
        "u-1",
        "ada@example.com",
        "Ada",
    )
    assert v2.user.client_id == "c-1"
    assert [(f.key, f.value) for f in v2.user.additional_fields] == [
        ("account", "A-1"),
        ("role", "a=b"),
        ("zone", "eu"),
    ]
    async with grpc.aio.insecure_channel(host_address(suite)) as channel:
        context = await context_pb2_grpc.ContextServiceStub(channel).GetContext(
            context_pb2.GetContextRequest(), metadata=token_metadata(token), timeout=10
        )
    assert context.context.request_id == "req-9"


@on_the_suite_loop
async def test_issue_token_json_audience_and_refusals(suite: Suite) -> None:
    async with InstallsClient(host_address(suite), token=ADMIN_TOKEN) as admin:
        await admin.register_install(
            tenant="acme",
            install_id="cli-token-2",
            extension_id="com.example.tickets",
            version="1.2.0",
            granted_capabilities=["cap:context.read"],
        )
    names = ("installs", "issue-token", "--tenant", "acme", "--install", "cli-token-2")
    where = _where(suite)

    as_json = await run_extplane(*names, "--json", *where, env=ISSUER)
    other = await run_extplane(*names, "--audience", "polyglot-host", *where, env=ISSUER)
    bad_audience = await run_extplane(*names, "--audience", "no spaces", *where, env=ISSUER)
    admin = await run_extplane(*names, *where, env={"EXTPLANE_TOKEN": ADMIN_TOKEN})
    no_user = await run_extplane(*names, "--user-email", "a@example.com", *where, env=ISSUER)
    bad_field = await run_extplane(
        *names, "--user-id", "u", "--user-field", "=x", *where, env=ISSUER
    )

    assert as_json.code == 0, as_json.stderr
    answer = json.loads(as_json.stdout)
    assert set(answer) == {"token", "expire_time", "key_id"}
    assert unverified_payload(answer["token"])["aud"] == "extplane-host"
    assert other.code == 0, other.stderr
    assert unverified_payload(other.stdout.strip())["aud"] == "polyglot-host"
    # This host's providers accept only their own audience.
    async with grpc.aio.insecure_channel(host_address(suite)) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await context_pb2_grpc.ContextServiceStub(channel).GetContext(
                context_pb2.GetContextRequest(),
                metadata=token_metadata(other.stdout.strip()),
                timeout=10,
            )
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert bad_audience.code == 3
    assert "INVALID_ARGUMENT" in bad_audience.stderr
    assert "audience" in bad_audience.stderr
    assert admin.code == 3
    assert "PERMISSION_DENIED" in admin.stderr
    assert no_user.code == 2
    assert "--user-id" in no_user.stderr
    assert bad_field.code == 2
    assert "--user-field" in bad_field.stderr
