"""The metering and audit services as the suite hosts them, in this process, on
ephemeral loopback ports, with a token for each reader role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extplane.config import Settings
from extplane.runtime import Metrics
from extplane.suite import Suite

BILLING_TOKEN = "billing-token-0123456789"
COMPLIANCE_TOKEN = "compliance-token-0123456789"
TOKENS = [
    {"name": "billing", "token": BILLING_TOKEN, "roles": ["metering.reader"]},
    {"name": "compliance", "token": COMPLIANCE_TOKEN, "roles": ["audit.reader"]},
]


@dataclass(frozen=True)
class QuerySuite:
    settings: Settings
    metering: str
    audit: str


def suite_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "metering": {"port": 0},
        "audit": {"port": 0},
        "metrics": {"enabled": False},
        "auth": {"tokens": TOKENS, "allow_unauthenticated_ingest": True},
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def query_suite(data_dir: Path, **overrides: Any) -> AsyncIterator[QuerySuite]:
    """`overrides` are Settings fields (e.g. `metering={"port": 0, "rate_card": ...}`)."""
    settings = suite_settings(data_dir, **overrides)
    async with Suite(settings, names=("metering", "audit"), metrics=Metrics()) as suite:
        yield QuerySuite(
            settings,
            metering=f"127.0.0.1:{suite.servers['metering'].port}",
            audit=f"127.0.0.1:{suite.servers['audit'].port}",
        )
