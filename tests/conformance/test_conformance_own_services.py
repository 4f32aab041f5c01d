"""Our own metering and audit services pass every check of their suites at full
level, on either store, with their query services counting what was stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from extplane_client import AuditQueryClient, MeteringQueryClient
from extplane_client.conformance import (
    Level,
    Options,
    Verdict,
    exit_status,
    query_counter,
    run_conformance,
)
from tests.query_suite import BILLING_TOKEN, COMPLIANCE_TOKEN, query_suite


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest) -> dict[str, Any]:
    """query_suite overrides placing both services on the store under test."""
    if request.param == "sqlite":
        return {}
    dsn: str = request.getfixturevalue("postgres_dsn")
    return {
        "metering": {"port": 0, "database_url": dsn},
        "audit": {"port": 0, "database_url": dsn},
    }


async def test_our_metering_and_audit_services_pass_every_full_check(
    tmp_path: Path, stores: dict[str, Any]
) -> None:
    async with (
        query_suite(tmp_path, **stores) as suite,
        MeteringQueryClient(suite.metering, token=BILLING_TOKEN) as metering,
        AuditQueryClient(suite.audit, token=COMPLIANCE_TOKEN) as audit,
    ):
        reports = [
            await run_conformance(
                "metering",
                suite.metering,
                options=Options(level=Level.FULL, counter=query_counter(metering)),
            ),
            await run_conformance(
                "audit",
                suite.audit,
                options=Options(level=Level.FULL, counter=query_counter(audit)),
            ),
        ]
    for report in reports:
        assert [r.check.name for r in report.results if r.verdict is not Verdict.PASS] == []
        assert exit_status(report) == 0
    assert len(reports[0].results) > 25
