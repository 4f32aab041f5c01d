"""`ExtensionLogsService.ListExtensionLogs` over the real wire, as `extplane up`
hosts it: an extension logs through LoggingService with its install token,
the operator reads those records back by cursor over gRPC and the gateway.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from itertools import pairwise

import grpc
import httpx
import pytest
import pytest_asyncio
from extension_logs_support import ISSUER_TOKEN, host_address, install_token, log, running_suite
from host_support import ADMIN_TOKEN, OTHER_TOKEN, READER_TOKEN, Registry

from extplane.host.extension_logs import LogRecord, RecentLogs
from extplane.suite import Suite
from extplane_client import ExtensionLogsClient, ExtensionLogsError
from extplane_protos.extplane.admin.v1 import extension_logs_pb2 as logs_pb
from extplane_protos.extplane.admin.v1 import extension_logs_pb2_grpc as logs_grpc

on_the_suite_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def suite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Suite]:
    async with running_suite(tmp_path_factory.mktemp("data")) as running:
        yield running


async def read(
    suite: Suite, install_id: str, *, token: str | None = READER_TOKEN, **fields: object
) -> logs_pb.ListExtensionLogsResponse:
    async with ExtensionLogsClient(host_address(suite), token=token) as client:
        fields.setdefault("tenant", "acme")
        return await client.list_extension_logs(install_id=install_id, **fields)  # type: ignore[arg-type]


@on_the_suite_loop
async def test_the_operator_reads_exactly_what_the_extension_logged(suite: Suite) -> None:
    token = await install_token(suite, "q-1", request_id="req-7")
    await log(suite, token, "hello")
    await log(suite, token, "careful", level="warn")
    await log(suite, token, "x" * 5000, level="error")

    page = await read(suite, "q-1")

    assert [(r.level, r.message[:7], r.truncated) for r in page.records] == [
        (logs_pb.EXTENSION_LOG_LEVEL_INFO, "hello", False),
        (logs_pb.EXTENSION_LOG_LEVEL_WARN, "careful", False),
        (logs_pb.EXTENSION_LOG_LEVEL_ERROR, "xxxxxxx", True),
    ]
    assert page.records[2].message.endswith("…[truncated 904 bytes]")
    for record in page.records:
        assert (record.tenant, record.install_id, record.extension_id, record.request_id) == (
            "acme",
            "q-1",
            "com.example.tickets",
            "req-7",
        )
        assert record.time.seconds > 0
    sequences = [r.sequence for r in page.records]
    assert [b - a for a, b in pairwise(sequences)] == [1, 1]
    assert page.next_after_sequence == sequences[-1]
    assert (page.has_more, page.records_missed) == (False, False)
    assert (page.evicted_count, page.dropped_count) == (0, 0)


@on_the_suite_loop
async def test_paging_with_the_cursor_answers_each_record_once(suite: Suite) -> None:
    token = await install_token(suite, "q-page")
    await log(suite, token, *(f"m{n}" for n in range(5)))

    seen: list[str] = []
    cursor, pages = 0, []
    while True:
        page = await read(suite, "q-page", after_sequence=cursor, page_size=2)
        pages.append((len(page.records), page.has_more))
        seen += [r.message for r in page.records]
        cursor = page.next_after_sequence
        if not page.has_more:
            break

    assert pages == [(2, True), (2, True), (1, False)]
    assert seen == [f"m{n}" for n in range(5)]
    idle = await read(suite, "q-page", after_sequence=cursor)
    assert list(idle.records) == []
    assert idle.next_after_sequence == cursor

    await log(suite, token, "m5")
    after = await read(suite, "q-page", after_sequence=cursor)
    assert [r.message for r in after.records] == ["m5"]


@on_the_suite_loop
async def test_a_level_filter_still_moves_the_cursor_past_what_it_hides(suite: Suite) -> None:
    token = await install_token(suite, "q-level")
    await log(suite, token, "quiet")
    await log(suite, token, "loud", level="error")
    await log(suite, token, "quiet again")

    page = await read(suite, "q-level", min_level="warn")
    everything = await read(suite, "q-level")

    assert [r.message for r in page.records] == ["loud"]
    assert page.next_after_sequence == everything.records[-1].sequence
    later = await read(suite, "q-level", min_level="warn", after_sequence=page.next_after_sequence)
    assert list(later.records) == []


@on_the_suite_loop
async def test_another_installs_records_never_appear(suite: Suite) -> None:
    token_a = await install_token(suite, "q-iso-a")
    token_b = await install_token(suite, "q-iso-b")
    # The same install id in another tenant is another install.
    token_other = await install_token(suite, "q-iso-a", tenant="globex")
    await log(suite, token_a, "a1")
    await log(suite, token_b, "b1")
    await log(suite, token_other, "globex1")
    await log(suite, token_a, "a2")

    a = await read(suite, "q-iso-a")
    b = await read(suite, "q-iso-b")
    other = await read(suite, "q-iso-a", tenant="globex")
    unknown = await read(suite, "q-iso-none")

    assert [r.message for r in a.records] == ["a1", "a2"]
    assert [r.message for r in b.records] == ["b1"]
    assert [(r.tenant, r.message) for r in other.records] == [("globex", "globex1")]
    assert list(unknown.records) == []
    assert not unknown.records_missed


@on_the_suite_loop
async def test_records_over_the_rate_limit_are_counted_as_dropped(suite: Suite) -> None:
    token = await install_token(suite, "q-rate", per_minute=2)
    await log(suite, token, "one", "two", "three", "four")

    page = await read(suite, "q-rate")

    assert [r.message for r in page.records] == ["one", "two"]
    assert (page.dropped_count, page.evicted_count) == (2, 0)


@on_the_suite_loop
@pytest.mark.parametrize(
    ("who", "token", "code"),
    [
        ("nobody", None, grpc.StatusCode.UNAUTHENTICATED),
        ("stranger", "not-a-known-token-0123456789", grpc.StatusCode.UNAUTHENTICATED),
        ("billing", OTHER_TOKEN, grpc.StatusCode.PERMISSION_DENIED),
        ("runner", ISSUER_TOKEN, grpc.StatusCode.PERMISSION_DENIED),
    ],
)
async def test_only_install_readers_and_admins_may_read(
    suite: Suite, who: str, token: str | None, code: grpc.StatusCode
) -> None:
    install_id = f"q-role-{who}"
    await log(suite, await install_token(suite, install_id), "secret")
    with pytest.raises(ExtensionLogsError) as refused:
        await read(suite, install_id, token=token)
    assert refused.value.code is code
    assert "secret" not in str(refused.value)

    admin = await read(suite, install_id, token=ADMIN_TOKEN)
    assert [r.message for r in admin.records] == ["secret"]


@on_the_suite_loop
@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tenant": "bad tenant", "install_id": "q-1"}, "tenant"),
        ({"install_id": ""}, "install_id"),
        ({"install_id": "q-1", "after_sequence": -1}, "after_sequence"),
        ({"install_id": "q-1", "page_size": -1}, "page_size"),
    ],
)
async def test_bad_requests_name_the_field(
    suite: Suite, fields: dict[str, object], field: str
) -> None:
    async with ExtensionLogsClient(host_address(suite), token=READER_TOKEN) as client:
        with pytest.raises(ExtensionLogsError) as refused:
            await client.list_extension_logs(**{"tenant": "acme", **fields})  # type: ignore[arg-type]
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert field in refused.value.field_violations


@on_the_suite_loop
async def test_the_gateway_route_answers_the_same_records(suite: Suite) -> None:
    token = await install_token(suite, "q-http")
    await log(suite, token, "first", "second", "third")
    assert suite.gateway is not None
    base = f"http://127.0.0.1:{suite.gateway.port}"
    path = "/v1/admin/tenants/acme/installs/q-http/logs"

    async with httpx.AsyncClient(base_url=base) as http:
        anonymous = await http.get(path)
        headers = {"authorization": f"Bearer {READER_TOKEN}"}
        first = await http.get(path, params={"pageSize": 2}, headers=headers)
        cursor = first.json()["nextAfterSequence"]
        rest = await http.get(path, params={"afterSequence": cursor}, headers=headers)
        bad = await http.get(path, params={"afterSequence": -5}, headers=headers)
        await log(suite, token, "worst", level="error")
        errors = await http.get(
            path, params={"minLevel": "EXTENSION_LOG_LEVEL_ERROR"}, headers=headers
        )

    assert anonymous.status_code == 401
    assert first.status_code == 200, first.text
    assert [r["message"] for r in first.json()["records"]] == ["first", "second"]
    assert first.json()["hasMore"] is True
    assert [r["message"] for r in rest.json()["records"]] == ["third"]
    assert rest.json()["records"][0]["level"] == "EXTENSION_LOG_LEVEL_INFO"
    assert bad.status_code == 400
    assert [r["message"] for r in errors.json()["records"]] == ["worst"]


@on_the_suite_loop
async def test_an_unknown_level_is_refused_naming_the_field(suite: Suite) -> None:
    async with grpc.aio.insecure_channel(host_address(suite)) as channel:
        stub = logs_grpc.ExtensionLogsServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ListExtensionLogs(
                logs_pb.ListExtensionLogsRequest(
                    tenant="acme",
                    install_id="q-1",
                    min_level=7,  # type: ignore[arg-type]
                ),
                metadata=(("authorization", f"Bearer {READER_TOKEN}"),),
                timeout=10,
            )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "min_level" in (refused.value.details() or "")


async def test_records_pushed_out_of_the_ring_are_counted_and_flagged(
    registry: Registry,
) -> None:
    recent = registry.service.logs.recent
    for n in range(1001):
        recent.add(LogRecord("info", f"m{n}", "acme", "ext", "q-ring", None, n))
    async with ExtensionLogsClient(registry.channel, token=READER_TOKEN) as client:
        fresh = await client.list_extension_logs(tenant="acme", install_id="q-ring", page_size=1)
        recent.add(LogRecord("info", "m1001", "acme", "ext", "q-ring", None, 1001))
        # A follower whose cursor fell behind the ring's oldest record.
        behind = await client.list_extension_logs(
            tenant="acme", install_id="q-ring", after_sequence=1, page_size=1
        )

    assert [r.message for r in fresh.records] == ["m1"]
    assert (fresh.evicted_count, fresh.records_missed) == (1, True)
    assert [(r.sequence, r.message) for r in behind.records] == [(3, "m2")]
    assert (behind.evicted_count, behind.records_missed) == (2, True)


def _record(install_id: str, message: str, level: str = "info") -> LogRecord:
    return LogRecord(level, message, "acme", "ext", install_id, None, 0)


def test_a_forgotten_install_numbers_on_above_every_sequence_handed_out() -> None:
    recent = RecentLogs(per_install=2, installs=1)
    first = [recent.add(_record("a", m)).sequence for m in ("a0", "a1")]
    recent.add(_record("b", "b0"))  # only one install is kept: `a` is forgotten
    again = recent.add(_record("a", "a2"))

    assert first == [1, 2]
    assert again.sequence == 4
    # A follower of `a` at sequence 2 sees the new record, and is told of the gap.
    read = recent.after("acme", "a", 2)
    assert [r.message for r in read.records] == ["a2"]
    assert read.missed


def test_a_cursor_ahead_of_the_install_starts_again_from_the_oldest() -> None:
    # As after a restart: the host numbers again from 1.
    recent = RecentLogs()
    for message in ("x0", "x1"):
        recent.add(_record("x", message))

    ahead = recent.after("acme", "x", 99)
    caught_up = recent.after("acme", "x", 2)

    assert [r.message for r in ahead.records] == ["x0", "x1"]
    assert ahead.missed
    assert (list(caught_up.records), caught_up.missed) == ([], False)


async def test_a_cursor_from_before_a_restart_answers_from_the_oldest(
    registry: Registry,
) -> None:
    recent = registry.service.logs.recent
    for message in ("r0", "r1", "r2"):
        recent.add(_record("q-restart", message))
    async with ExtensionLogsClient(registry.channel, token=READER_TOKEN) as client:
        page = await client.list_extension_logs(
            tenant="acme", install_id="q-restart", after_sequence=500
        )
        unknown = await client.list_extension_logs(
            tenant="acme", install_id="q-never", after_sequence=500
        )

    assert [r.message for r in page.records] == ["r0", "r1", "r2"]
    assert page.records_missed
    assert page.next_after_sequence == 3
    assert list(unknown.records) == []
    assert unknown.records_missed
    assert unknown.next_after_sequence == 0
