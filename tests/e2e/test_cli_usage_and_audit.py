"""What a platform team does with `extplane up`: a runtime's sink adapters record
usage and audit events; billing and compliance read them back over HTTP with their
tokens; the audit log verifies from the shell."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from extplane_client import GrpcAuditSink, GrpcMeteringSink
from extplane_protos.orloj.extensions.v1.audit_pb2 import AuditEvent
from extplane_protos.orloj.extensions.v1.metering_pb2 import MeteringEvent
from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli

BILLING = "billing-token-0123456789"
COMPLIANCE = "compliance-token-0123456789"
TOKENS = json.dumps(
    [
        {"name": "billing", "token": BILLING, "roles": ["metering.reader"]},
        {"name": "compliance", "token": COMPLIANCE, "roles": ["audit.reader"]},
    ]
)
RATE_CARD = {
    "EXTPLANE_METERING__RATE_CARD__CURRENCY": "EUR",
    "EXTPLANE_METERING__RATE_CARD__MODELS": json.dumps(
        {"gpt-x": {"input_per_million": "2.50", "output_per_million": "10"}}
    ),
}


def _suite(tmp_path: Path, cli_processes: list[RunningCli]) -> RunningCli:
    env = ephemeral_env(
        tmp_path,
        {
            "EXTPLANE_AUTH__TOKENS": TOKENS,
            "EXTPLANE_AUTH__ALLOW_UNAUTHENTICATED_INGEST": "true",
            **RATE_CARD,
        },
    )
    suite = start_cli(["up"], env, {"gateway", "metering", "audit"})
    cli_processes.append(suite)
    return suite


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_usage_recorded_by_the_adapter_is_billed_over_http(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    suite = _suite(tmp_path, cli_processes)
    base = suite.http_base()
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)

    sink = GrpcMeteringSink(suite.grpc_target("metering"))
    for i in range(120):
        event = MeteringEvent(
            namespace="team-a" if i % 3 else "team-b",
            task=f"task-{i % 4}",
            agent="planner",
            model="gpt-x" if i % 2 else "small",
            tokens_in=1000,
            tokens_out=100,
            tool_calls=1,
            duration_ms=20,
        )
        event.timestamp.FromDatetime(hour + timedelta(minutes=i % 90))
        sink.record(event)
    assert sink.close(timeout=30)
    assert sink.stats().delivered == 120

    params = {
        "start_time": hour.isoformat().replace("+00:00", "Z"),
        "window": "hour",
        "group_by": "model",
    }
    url = f"{base}/v1/metering/usage"
    anonymous = httpx.get(url, params=params, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert httpx.get(url, params=params, headers=_bearer(COMPLIANCE), timeout=10).status_code == 403

    usage = httpx.get(url, params=params, headers=_bearer(BILLING), timeout=10)
    assert usage.status_code == 200, usage.text
    body = usage.json()
    assert body["currency"] == "EUR"
    by_key = {(b["windowStart"], b.get("model", "")): b for b in body["buckets"]}
    first = hour.isoformat().replace("+00:00", "Z")
    second = (hour + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    # Minutes 0..59 of events 0..89 fall in the first hour, 60..89 in the second;
    # odd events are gpt-x: 30 per hour-1 half, 15 in hour 2; the same for "small".
    assert int(by_key[(first, "gpt-x")]["events"]) == 30 + 15  # i % 90 < 60 for i < 60 and 90..119
    assert int(by_key[(second, "gpt-x")]["events"]) == 15
    # 45 gpt-x events x (1000 in at 2.50/M + 100 out at 10/M) = 45 x 0.0035
    assert by_key[(first, "gpt-x")]["cost"] == "0.1575"
    assert int(body["total"]["events"]) == 120
    assert int(body["total"]["tokensIn"]) == 120_000

    shell = subprocess.run(
        [
            sys.executable, "-m", "extplane.cli", "metering", "usage",
            "--start", params["start_time"], "--window", "hour", "--group-by", "model", "--json",
            "--address", suite.grpc_target("metering"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**ephemeral_env(tmp_path), "EXTPLANE_TOKEN": BILLING},
    )  # fmt: skip
    assert shell.returncode == 0, shell.stderr
    printed = json.loads(shell.stdout)
    assert printed["total"]["cost"] == body["total"]["cost"]
    assert [(b["window_start"], b["model"], str(b["events"])) for b in printed["buckets"]] == [
        (b["windowStart"], b["model"], b["events"]) for b in body["buckets"]
    ]

    listed = httpx.get(
        f"{base}/v1/metering/events",
        params={"namespace": "team-b", "page_size": 100},
        headers=_bearer(BILLING),
        timeout=10,
    ).json()
    assert len(listed["events"]) == 40
    assert all(e["event"]["eventId"] for e in listed["events"])


def test_audit_events_are_queried_exported_and_verified(
    tmp_path: Path, cli_processes: list[RunningCli]
) -> None:
    suite = _suite(tmp_path, cli_processes)
    base = suite.http_base()
    sink = GrpcAuditSink(suite.grpc_target("audit"))
    for i in range(60):
        sink.record(
            AuditEvent(
                action="tool_invoke" if i % 2 else "policy_deny",
                actor=f"agent-{i % 3}",
                resource=f"tool/search-{i}",
                namespace="prod",
                outcome="allowed" if i % 2 else "denied",
                details={"i": str(i), "note": 'quote " and, comma'},
            )
        )
    assert sink.close(timeout=30)

    url = f"{base}/v1/audit/events"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers=_bearer(BILLING), timeout=10).status_code == 403

    query = {"actor": "agent-1", "outcome": "denied"}
    pages: list[dict[str, object]] = []
    token = ""
    while True:
        page = httpx.get(
            url,
            params={**query, "page_size": 4, "page_token": token},
            headers=_bearer(COMPLIANCE),
            timeout=10,
        ).json()
        pages.extend(page["events"])
        token = page.get("nextPageToken", "")
        if not token:
            break
    expected = [i for i in range(60) if i % 3 == 1 and i % 2 == 0]
    assert [int(r["event"]["details"]["i"]) for r in pages] == expected  # type: ignore[index]

    export = httpx.get(
        f"{base}/v1/audit/export",
        params={**query, "format": "csv"},
        headers=_bearer(COMPLIANCE),
        timeout=30,
    )
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [int(r["sequence"]) for r in rows] == [int(r["sequence"]) for r in pages]  # type: ignore[call-overload]
    assert all(json.loads(r["details"])["note"] == 'quote " and, comma' for r in rows)

    jsonl = httpx.get(
        f"{base}/v1/audit/export",
        params={**query, "format": "jsonl"},
        headers=_bearer(COMPLIANCE),
        timeout=30,
    )
    assert [json.loads(line) for line in jsonl.text.splitlines()] == pages

    verdict = httpx.get(f"{base}/v1/audit/verify", headers=_bearer(COMPLIANCE), timeout=30).json()
    assert verdict["intact"] is True
    assert int(verdict["recordsVerified"]) == 60

    shell = subprocess.run(
        [
            sys.executable,
            "-m",
            "extplane.cli",
            "audit",
            "verify",
            "--address",
            suite.grpc_target("audit"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**ephemeral_env(tmp_path), "EXTPLANE_TOKEN": COMPLIANCE},
    )
    assert shell.returncode == 0, shell.stderr
    assert suite.terminate() == 0
