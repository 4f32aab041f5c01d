"""Prometheus families of the runner: executions by handler kind and outcome, and
what the idempotency store replayed, shed or refused (DESIGN §6: overflow is counted)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from extplane.runtime import once_per_registry


@once_per_registry
def _families(registry: CollectorRegistry) -> tuple[Counter, Counter, Gauge]:
    executions = Counter(
        "extplane_runner_executions_total",
        "Executions that reached a handler, by kind (component, grpc) and outcome "
        "(ok, or the failure's reason: TIMEOUT, LIMIT_EXCEEDED, GUEST_FAILED, ...).",
        ["kind", "outcome"],
        registry=registry,
    )
    idempotency = Counter(
        "extplane_runner_idempotency_total",
        "Requests with an idempotency key by what the store did: executed, replayed, "
        "or refused (every slot held a running execution).",
        ["result"],
        registry=registry,
    )
    entries = Gauge(
        "extplane_runner_idempotency_entries",
        "Answers the idempotency store holds (bounded by runner.idempotency_capacity).",
        registry=registry,
    )
    return executions, idempotency, entries


class RunnerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._executions, self._idempotency, self.entries = _families(
            registry if registry is not None else CollectorRegistry()
        )

    def executed(self, kind: str, outcome: str) -> None:
        self._executions.labels(kind, outcome).inc()

    def idempotency(self, result: str) -> None:
        self._idempotency.labels(result).inc()
