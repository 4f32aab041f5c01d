"""`extplane metering usage` and `extplane metering events`, run as a user runs them,
against the real metering service over loopback gRPC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from extplane_client import MeteringQueryClient
from extplane_protos.orloj.extensions.v1 import metering_pb2, metering_pb2_grpc
from tests.e2e.cli_process import run_extplane
from tests.loopback import dead_address
from tests.query_suite import BILLING_TOKEN, COMPLIANCE_TOKEN, QuerySuite

HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
START = HOUR.isoformat().replace("+00:00", "Z")
END = (HOUR + timedelta(hours=2)).isoformat().replace("+00:00", "Z")
BILLING = {"EXTPLANE_TOKEN": BILLING_TOKEN}


async def _seed(suite: QuerySuite) -> None:
    events = []
    for i in range(120):
        event = metering_pb2.MeteringEvent(
            namespace="team-a" if i % 3 else "team-b",
            agent="planner",
            model="gpt-x" if i % 2 else "small",
            tokens_in=1000,
            tokens_out=100,
            tool_calls=1,
            duration_ms=20,
            event_id=f"evt-{i:03d}",
        )
        event.timestamp.FromNanoseconds(int(HOUR.timestamp()) * 10**9 + (i % 90) * 60 * 10**9 + 7)
        events.append(event)
    async with grpc.aio.insecure_channel(suite.metering) as channel:
        await metering_pb2_grpc.MeteringSinkStub(channel).RecordMeteringBatch(
            metering_pb2.RecordMeteringBatchRequest(events=events), timeout=10
        )


def _cells(line: str) -> list[str]:
    return line.split()


async def test_usage_prints_a_table_with_totals_and_the_currency(queries: QuerySuite) -> None:
    await _seed(queries)

    result = await run_extplane(
        "metering", "usage", "--start", START, "--end", END, "--window", "hour",
        "--group-by", "model", "--address", queries.metering, env=BILLING,
    )  # fmt: skip

    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"usage {START} .. {END}"
    assert _cells(lines[1]) == [
        "window", "model", "events", "tokens_in", "tokens_out", "tool_calls", "duration_ms",
        "cost", "(EUR)",
    ]  # fmt: skip
    rows = {(c[0], c[1]): c[2:] for c in map(_cells, lines[3:7])}
    # Minutes 0..59 hold events 0..59 and 90..119: 45 of them gpt-x, priced
    # 45 x (1000 in at 2.50/M + 100 out at 10/M); "small" is on the free default.
    assert rows[(START, "gpt-x")] == ["45", "45,000", "4,500", "45", "900", "0.1575"]
    assert rows[(START, "small")][0] == "45"
    assert rows[(START, "small")][-1] == "0"
    second_hour = (HOUR + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert rows[(second_hour, "gpt-x")][0] == "15"
    assert _cells(lines[-1]) == ["total", "120", "120,000", "12,000", "120", "2,400", "0.21"]


async def test_usage_as_json_agrees_with_the_typed_client(queries: QuerySuite) -> None:
    await _seed(queries)

    result = await run_extplane(
        "metering", "usage", "--start", START, "--end", END, "--group-by", "namespace,model",
        "--namespace", "team-b", "--json", "--address", queries.metering, env=BILLING,
    )  # fmt: skip

    assert result.code == 0, result.stderr
    printed = json.loads(result.stdout)
    async with MeteringQueryClient(queries.metering, token=BILLING_TOKEN) as client:
        report = await client.get_usage(
            start=HOUR,
            end=HOUR + timedelta(hours=2),
            group_by=["namespace", "model"],
            namespace="team-b",
        )
    assert printed["currency"] == report.currency == "EUR"
    assert [(b["namespace"], b["model"], b["events"], b["cost"]) for b in printed["buckets"]] == [
        (b.namespace, b.model, b.events, str(b.cost)) for b in report.buckets
    ]
    assert {b["namespace"] for b in printed["buckets"]} == {"team-b"}
    assert printed["total"]["events"] == report.total.events == 40
    assert printed["total"]["window_start"] == START


async def test_events_prints_json_lines_with_the_stored_nanoseconds(queries: QuerySuite) -> None:
    await _seed(queries)

    result = await run_extplane(
        "metering", "events", "--namespace", "team-b", "--limit", "5",
        "--address", queries.metering, env=BILLING,
    )  # fmt: skip

    assert result.code == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    # Oldest first: minute 0 holds events 0 and 90, minute 3 events 3 and 93, ...
    ids = ["evt-000", "evt-090", "evt-003", "evt-093", "evt-006"]
    assert [e["event_id"] for e in printed] == ids
    assert printed[0]["timestamp"] == START.replace("Z", ".000000007Z")
    assert printed[2]["model"] == "gpt-x"
    assert printed[2]["tokens_in"] == 1000


@pytest.mark.parametrize(
    ("token", "status"),
    [(None, "UNAUTHENTICATED"), (COMPLIANCE_TOKEN, "PERMISSION_DENIED")],
)
async def test_a_refused_token_is_one_line_and_exit_3(
    queries: QuerySuite, token: str | None, status: str
) -> None:
    env = {"EXTPLANE_TOKEN": token} if token else {}
    result = await run_extplane(
        "metering", "usage", "--start", START, "--address", queries.metering, env=env
    )

    assert result.code == 3
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"extplane: metering service at {queries.metering}: {status}")


async def test_the_token_option_and_a_bad_range_named_by_the_service(queries: QuerySuite) -> None:
    result = await run_extplane(
        "metering", "usage", "--start", END, "--end", START, "--token", BILLING_TOKEN,
        "--address", queries.metering,
    )  # fmt: skip

    assert result.code == 3
    assert "INVALID_ARGUMENT: end_time: must be after start_time" in result.stderr


async def test_an_unreachable_service_is_exit_3_naming_the_address() -> None:
    address = dead_address()
    result = await run_extplane(
        "metering", "usage", "--start", START, "--address", address, "--timeout", "2", env=BILLING
    )

    assert result.code == 3
    assert f"metering service at {address}: " in result.stderr
    assert "UNAVAILABLE" in result.stderr or "DEADLINE_EXCEEDED" in result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--start", "yesterday"], "not an ISO 8601 time"),
        (["--start", START, "--group-by", "colour"], "choose from namespace, task, agent, model"),
        (["--start", START, "--window", "week"], "invalid choice"),
        (["--start", START, "--timeout", "0"], "must be > 0 seconds"),
        ([], "--start"),
    ],
)
async def test_usage_errors_are_exit_2_before_any_call(args: list[str], says: str) -> None:
    result = await run_extplane("metering", "usage", *args, "--address", dead_address())

    assert result.code == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr
