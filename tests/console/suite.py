"""`extplane up` for the console's browser tests: tokens for each role, a rate card,
a dead capability provider, usage and audit records recorded by the sink adapters,
and the host auditing its denials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from extplane_client import GrpcAuditSink, GrpcMeteringSink
from extplane_protos.orloj.extensions.v1.audit_pb2 import AuditEvent
from extplane_protos.orloj.extensions.v1.metering_pb2 import MeteringEvent
from tests.e2e.cli_process import RunningCli, ephemeral_env, start_cli
from tests.loopback import unused_port

OPERATOR = "operator-token-0123456789"  # every reader role
BILLING = "billing-token-0123456789"  # metering.reader only
INSTALLS = "installs-token-0123456789"  # installs.reader only: no audit log
RUNTIME = "runtime-token-0123456789"  # the writer roles: seeds the data; the host audits with it
ADMIN = "admin-token-0123456789"  # installs.admin: registers installs
ISSUER = "issuer-token-0123456789"  # installs.issuer: issues install tokens
TOKENS = json.dumps(
    [
        {"name": "runtime", "token": RUNTIME, "roles": ["metering.writer", "audit.writer"]},
        {
            "name": "operator",
            "token": OPERATOR,
            "roles": ["metering.reader", "audit.reader", "installs.reader"],
        },
        {"name": "billing", "token": BILLING, "roles": ["metering.reader"]},
        {"name": "installs", "token": INSTALLS, "roles": ["installs.reader"]},
        {"name": "admin", "token": ADMIN, "roles": ["installs.admin"]},
        {"name": "issuer", "token": ISSUER, "roles": ["installs.issuer"]},
    ]
)
CHECKPOINT_EVERY = 10


@dataclass
class Suite:
    cli: RunningCli
    data: Path

    @property
    def base(self) -> str:
        return self.cli.http_base()

    def get(self, path: str, token: str = OPERATOR, **params: str | list[str]) -> httpx.Response:
        return httpx.get(
            self.base + path,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    def post(self, path: str, token: str, body: dict[str, object]) -> httpx.Response:
        answer = httpx.post(
            self.base + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return answer


@contextmanager
def running_suite(tmp: Path) -> Iterator[Suite]:
    env = ephemeral_env(
        tmp,
        {
            "EXTPLANE_AUTH__TOKENS": TOKENS,
            "EXTPLANE_METERING__RATE_CARD__CURRENCY": "EUR",
            "EXTPLANE_METERING__RATE_CARD__MODELS": json.dumps(
                {"gpt-x": {"input_per_million": "2.50", "output_per_million": "10"}}
            ),
            "EXTPLANE_AUDIT__CHECKPOINT_EVERY_RECORDS": str(CHECKPOINT_EVERY),
            # The host records its capability denials in the audit log.
            "EXTPLANE_HOST_PROVIDERS__AUDIT_TOKEN": RUNTIME,
            # Nothing listens there: the snapshot names it degraded.
            "EXTPLANE_CAPABILITIES__PROVIDERS": json.dumps(
                [{"name": "billing-ext", "address": f"127.0.0.1:{unused_port()}"}]
            ),
        },
    )
    cli = start_cli(["up"], env, {"gateway", "metering", "audit", "host"})
    try:
        yield Suite(cli, tmp / "data")
    finally:
        cli.terminate()


def seed_usage(suite: Suite, now: datetime) -> datetime:
    """120 events over the three hours before `now`, in two namespaces and two models."""
    first = (now - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    sink = GrpcMeteringSink(suite.cli.grpc_target("metering"), token=RUNTIME)
    for i in range(120):
        event = MeteringEvent(
            namespace="team-a" if i % 3 else "team-b",
            task=f"task-{i % 4}",
            agent="planner" if i % 2 else "writer",
            model="gpt-x" if i % 2 else "small",
            tokens_in=1000 + i,
            tokens_out=100 + i,
            tool_calls=i % 3,
            duration_ms=20 + i,
        )
        event.timestamp.FromDatetime(first + timedelta(minutes=i * 1.5))
        sink.record(event)
    assert sink.close(timeout=30)
    assert sink.stats().delivered == 120
    return first


def seed_audit(suite: Suite, count: int, now: datetime, details: dict[str, str]) -> None:
    """`count` events, one a second up to `now`; the last one carries `details`."""
    sink = GrpcAuditSink(suite.cli.grpc_target("audit"), token=RUNTIME)
    for i in range(count):
        event = AuditEvent(
            action="secrets.get" if i % 2 else "storage.put",
            actor=f"ext-{i % 3}",
            resource=f"res/{i}",
            namespace="prod" if i % 4 else "dev",
            outcome="denied" if i % 5 == 0 else "allowed",
            details=details if i == count - 1 else {"n": str(i)},
        )
        event.timestamp.FromDatetime(now - timedelta(seconds=count - i))
        sink.record(event)
    assert sink.close(timeout=30)
    assert sink.stats().delivered == count


def utc_now() -> datetime:
    return datetime.now(UTC)
