"""Settings of the runner service (`[runner]` in the TOML file, `EXTPLANE_RUNNER__*`)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from extplane.runner.jobs import (
    DEFAULT_MEMORY_BYTES,
    DEFAULT_TIMEOUT_MS,
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
)
from extplane.runtime import port_field

CACHE_DIR_NAME = "runner-cache"


def machine_workers() -> int:
    """One worker process per core this process may run on: host calls hold the
    GIL, so processes (not threads) are what scale (issue 13's measurements)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


class RunnerLimits(BaseModel):
    """What a version that sets no limit of its own gets, and the caps no version exceeds."""

    model_config = ConfigDict(extra="forbid")

    timeout_ms: int = Field(
        default=DEFAULT_TIMEOUT_MS,
        ge=1,
        le=300_000,
        description="Wall-clock limit of an execution whose version sets none (ms).",
    )
    memory_bytes: int = Field(
        default=DEFAULT_MEMORY_BYTES,
        ge=1024 * 1024,
        le=4 * 1024**3 - 1,
        description="Linear memory limit of a component whose version sets none.",
    )
    fuel: int = Field(
        default=0, ge=0, description="Fuel of an execution whose version sets none; 0: none."
    )
    max_request_bytes: int = Field(
        default=MAX_REQUEST_BYTES,
        ge=0,
        description="Largest inbound HTTP body an execution is given (larger: refused).",
    )
    max_response_bytes: int = Field(
        default=MAX_RESPONSE_BYTES,
        ge=0,
        description="Largest response body a handler may answer (larger: a failed execution).",
    )


class RunnerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: int = port_field(50055)
    host_address: str | None = Field(
        default=None,
        min_length=1,
        description="The host service (install registry, install tokens, host providers), "
        "host:port; handlers are told it too. Unset: the host of this deployment "
        "(`extplane up`, or the host's default port on the bind address).",
    )
    registry_address: str | None = Field(
        default=None,
        min_length=1,
        description="The extension registry (ExtensionRegistryService), host:port. "
        "Unset: the host address.",
    )
    host_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="The runner's bearer token at the host: it needs the installs.issuer "
        "role (reads installs and versions, issues install tokens). Unset: every execution "
        "fails at the install lookup.",
    )
    metering_address: str | None = Field(
        default=None,
        min_length=1,
        description="Metering service host:port for one event per execution. Unset: the "
        "metering service of the same process, else none (no-op).",
    )
    metering_token: SecretStr | None = Field(
        default=None, min_length=16, description="Token with metering.writer for those events."
    )
    audit_address: str | None = Field(
        default=None,
        min_length=1,
        description="Audit service host:port for refusals, traps and limit hits. Unset: the "
        "audit service of the same process, else none (no-op).",
    )
    audit_token: SecretStr | None = Field(
        default=None, min_length=16, description="Token with audit.writer for those events."
    )
    workers: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description="Worker processes that run components. Unset: one per core.",
    )
    queue_size: int = Field(
        default=64,
        ge=1,
        description="Executions waiting for a worker beyond which callers are told to retry "
        "later (RESOURCE_EXHAUSTED, HTTP 429 with Retry-After).",
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Components (content-addressed) and their compiled artifacts. Unset: "
        f"`{CACHE_DIR_NAME}` in the data dir.",
    )
    limits: RunnerLimits = Field(default_factory=RunnerLimits)
    handler_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=300,
        description="Deadline of a call to a gRPC handler (polyglot extension) whose version "
        "sets no timeout; the caller's own deadline shortens it.",
    )
    install_cache_ttl_s: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="How long an install and its version are remembered between executions "
        "(0: looked up for each). Every execution still gets a fresh install token, minted "
        "from the install as stored, and a token naming another version than the remembered "
        "one makes the runner look the install up again.",
    )
    idempotency_ttl_s: float = Field(
        default=86_400.0,
        gt=0,
        description="How long an answer is replayed to a retry with the same Idempotency-Key.",
    )
    idempotency_capacity: int = Field(
        default=10_000,
        ge=1,
        description="Most answers kept for replay; the oldest finished ones go first.",
    )

    def worker_count(self) -> int:
        return self.workers if self.workers is not None else machine_workers()

    def cache_directory(self, data_dir: Path) -> Path:
        return self.cache_dir if self.cache_dir is not None else data_dir / CACHE_DIR_NAME
